"""/api/search and the console search page take the plan expression language; a bad expression is a
422 problem (API) or a Chinese sentence on the page naming the position; an unknown word finds nothing."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.factories import login


def test_expressions_in_the_api_and_the_console(client: TestClient) -> None:
    login(client, "analyst")

    def titles(q: str) -> list[str]:
        response = client.get("/api/search", params={"q": q, "sort": "time"})
        assert response.status_code == 200, response.text
        return [h["title"] for h in response.json()["hits"]]

    assert titles("排污-河水") == ["<script>alert(1)</script> 排污 标题"]
    assert titles("排污+河水") == ["化工厂 排污 河水 发黑"]
    assert titles("(食堂|河水)+问题") == ["学校 食堂 卫生 问题"]
    assert titles("title:异味") == []  # 异味 is in a content only
    assert titles("异味") == ["化工厂 排污 河水 发黑"]
    assert titles("不存在的词语xyz") == []  # an unknown word: its characters do not count
    bad = client.get("/api/search", params={"q": "(排污|河水"})
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert "第 1 个字符" in bad.json()["detail"]
    page = client.get("/search", params={"q": "(排污|河水"})
    assert page.status_code == 422
    assert "检索式有误" in page.text and "第 1 个字符" in page.text
    assert "共 <strong>1</strong> 条" in client.get("/search", params={"q": "排污+河水"}).text
