"""Chinese names for the states, deadline kinds and actions the console shows."""

from __future__ import annotations

STATUS_LABELS = {
    "new": "待签收",
    "acknowledged": "已签收",
    "responding": "处置中",
    "info_published": "已发布信息",
    "press_conference_held": "已召开发布会",
    "closed": "已关闭",
    "snoozed": "暂缓提醒",
    "supervised": "督办中",
    "merged": "已合并",
}
DEADLINE_LABELS = {
    "authoritative_info": "权威信息发布",
    "press_conference": "新闻发布会",
    "response": "回应",
    "message_reply": "留言答复",
    "policy_interpretation": "政策解读",
}
DEADLINE_STATE_LABELS = {"open": "计时中", "met": "已完成", "breached": "已超时", "stopped": "已停止"}
ACTION_LABELS = {
    "acknowledge": "签收",
    "start_response": "开始处置",
    "reassign": "转派",
    "return": "退回值班室",
    "info_published": "记录信息发布",
    "press_conference": "记录新闻发布会",
    "supervise": "督办",
    "snooze": "暂缓提醒",
    "unsnooze": "恢复提醒",
    "close": "关闭（复盘）",
    "merge": "合并",
    # audit-log action names written by alerting
    "publish_info": "记录信息发布",
    "hold_press_conference": "记录新闻发布会",
    "merged_in": "并入",
    "created": "生成预警",
    "alert_created": "生成预警",
    "level_raised": "级别上调",
    "deadline_breached": "时限超时",
    "deadline_recomputed": "时限重算",
    "raised": "升级",
    "reopen": "重新打开",
    "ack_timeout": "签收超时",
    # console confirmations of 人工研判
    "manual_created": "人工研判生成预警",
    "manual_raised": "人工研判上调级别",
}
