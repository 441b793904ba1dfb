"""Department directory: the shipped demo, assignment rules, duty rosters, validation and the DB copy."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from alerting.directory import Directory, DirectoryError, common_region, normalize_region
from yuqing.clock import CN_TZ
from yuqing.schemas import Location

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "alerting" / "config" / "departments.yaml"
DIVISIONS = ROOT.parent / "shared" / "data" / "divisions"


@pytest.fixture(scope="module")
def directory() -> Directory:
    return Directory.load_yaml(SHIPPED)


def loc(name: str, code: str) -> Location:
    return Location(name=name, code=code)


WOLONG, FANGCHENG, ZHENPING = loc("卧龙区", "411303"), loc("方城县", "411322"), loc("镇平县", "411324")
NANYANG, FENGQIU, NINGYANG = loc("南阳市", "4113"), loc("封丘县", "410727"), loc("宁阳县", "370921")


def test_shipped_regions_are_real_2023_codes(directory: Directory) -> None:
    if not DIVISIONS.is_dir():
        pytest.skip("shared divisions data not present")
    names: dict[str, str] = {}
    for file in ("provinces.csv", "cities.csv", "areas.csv"):
        with (DIVISIONS / file).open(encoding="utf-8") as fh:
            names.update({row["code"]: row["name"] for row in csv.DictReader(fh)})
    for code, name in directory.config.regions.items():
        assert names[code] == name
    assert {d.region for d in directory.departments} <= set(directory.config.regions)
    assert {len(code) for code in directory.config.regions} == {2, 4, 6}


def test_shipped_directory_covers_the_sample_sources(directory: Directory) -> None:
    sources = ROOT / "crawlers" / "sources"
    regions = {str(yaml.safe_load(f.read_text(encoding="utf-8")).get("region") or "")
               for f in sources.glob("*.yaml")}
    for region in sorted(r for r in regions if r):
        got = directory.assign(category=None, department_type="网信办", locations=[loc("样例", region)])
        assert got.region_code == normalize_region(region), got.reason


def test_county_department_of_the_type(directory: Directory) -> None:
    got = directory.assign(category="环境保护", department_type=None, locations=[ZHENPING])
    assert (got.department_id, got.region_code, got.level) == ("ny-zp-sthj", "411324", "county")
    assert got.department_name == "南阳市生态环境局镇平分局"
    assert "属地管理" in got.reason and "环境保护 → 生态环境局" in got.reason


def test_county_without_the_type_falls_back_to_its_city(directory: Directory) -> None:
    got = directory.assign(category="环境保护", department_type=None, locations=[WOLONG])
    assert (got.department_id, got.level) == ("ny-sthj", "city")
    assert got.department_name == "南阳市生态环境局"
    assert "分级负责" in got.reason and "卧龙区(411303)" in got.reason
    # A county the directory does not list at all is handled by its city as well.
    xichuan = directory.assign(category="环境保护", department_type=None, locations=[loc("淅川县", "411326")])
    assert xichuan.department_id == "ny-sthj"


def test_department_type_from_the_nlp_wins_over_the_category(directory: Directory) -> None:
    got = directory.assign(category="环境保护", department_type="教育局", locations=[WOLONG])
    assert got.department_id == "ny-wl-jyj"
    assert "主管部门类型 教育局" in got.reason


def test_category_uses_the_nlp_table(directory: Directory) -> None:
    from yuqing.taxonomy import load_taxonomy

    for category in ("政法", "国土资源", "卫生计生"):
        expected = load_taxonomy().department_for(category)
        assert directory.type_for_category(category) == expected
    got = directory.assign(category="政法", department_type=None, locations=[FANGCHENG])
    assert got.department_id == "ny-fc-gaj"


def test_cross_region_goes_to_the_common_higher_level(directory: Directory) -> None:
    two_counties = directory.assign(
        category="卫生计生", department_type=None, locations=[FANGCHENG, ZHENPING]
    )
    assert (two_counties.department_id, two_counties.region_code) == ("ny-wjw", "4113")
    assert "跨区域" in two_counties.reason and "南阳市(4113)" in two_counties.reason
    two_cities = directory.assign(category="卫生计生", department_type=None, locations=[WOLONG, FENGQIU])
    assert (two_cities.department_id, two_cities.level) == ("ha-wjw", "province")


def test_a_place_inside_another_listed_place_is_the_same_site(directory: Directory) -> None:
    got = directory.assign(category="卫生计生", department_type=None, locations=[NANYANG, WOLONG])
    assert got.department_id == "ny-wl-wjw"


def test_unknown_places_go_to_the_duty_office(directory: Directory) -> None:
    office = directory.duty_office()
    assert office.type == "网信办" and office.region == "41"
    nowhere = directory.assign(category="卫生计生", department_type=None, locations=[])
    assert nowhere.department_id == office.id and "地点不明" in nowhere.reason
    bad_code = directory.assign(category=None, department_type=None, locations=[loc("某地", "n/a")])
    assert bad_code.department_id == office.id
    beijing = directory.assign(category="卫生计生", department_type=None, locations=[loc("海淀区", "110108")])
    assert beijing.department_id == office.id and "值班部门" in beijing.reason
    two_provinces = directory.assign(category="卫生计生", department_type=None, locations=[FENGQIU, NINGYANG])
    assert two_provinces.department_id == office.id and "跨省" in two_provinces.reason


def test_unknown_category_goes_to_the_local_cyberspace_office(directory: Directory) -> None:
    got = directory.assign(category="其他", department_type=None, locations=[loc("唐河县", "411328")])
    assert got.department_id == "ny-th-wxb" and "类别不明" in got.reason


def test_padded_codes_are_accepted(directory: Directory) -> None:
    got = directory.assign(category="卫生计生", department_type=None, locations=[loc("南阳", "411300")])
    assert got.department_id == "ny-wjw"
    assert normalize_region("410000") == "41" and normalize_region("411303001000") == "411303"
    assert common_region(["411322", "411324"]) == "4113" and common_region(["41", "37"]) is None


def test_department_details_include_contacts_and_leaders(directory: Directory) -> None:
    dept = directory.department("ny-sthj")
    assert dept is not None
    assert dept.head is not None and dept.leader_in_charge is not None
    assert dept.contacts and dept.contacts[0].email and dept.contacts[0].dingtalk
    assert directory.department("nope") is None


def test_duty_officer_rotates_daily_at_handover(directory: Directory) -> None:
    roster = next(r for r in directory.config.duty_rosters if r.region == "4113")
    start = roster.rotation_start
    before = datetime(start.year, start.month, start.day + 1, 8, 29, tzinfo=CN_TZ)
    after = datetime(start.year, start.month, start.day + 1, 8, 30, tzinfo=CN_TZ)
    assert directory.duty_officer("4113", before) == roster.officers[0]
    assert directory.duty_officer("4113", after) == roster.officers[1]
    # A county without a roster uses its city's; a region outside the directory the home region's.
    assert directory.duty_officer("411322", after) == roster.officers[1]
    home = next(r for r in directory.config.duty_rosters if r.region == "41")
    assert directory.duty_officer("110108", after) == home.officers[1]
    assert directory.duty_officer("370921", after) == home.officers[1]


def test_holiday_shift_wins_over_the_rotation(directory: Directory) -> None:
    home = next(r for r in directory.config.duty_rosters if r.region == "41")
    shift = home.shifts[0]
    during = directory.duty_officer("41", shift.start)
    assert during == shift.officer and during.title != home.officers[0].title
    assert directory.duty_officer("41", shift.end) != shift.officer


def _base() -> dict:
    return {
        "home_region": "34",
        "departments": [
            {"id": "ah-wxb", "name": "安徽省委网信办", "type": "网信办", "region": "34"},
            {"id": "aq-wjw", "name": "安庆市卫健委", "type": "卫生健康委员会", "region": "3408",
             "head": {"name": "甲", "email": "jia@wjw.aq.example"}},
        ],
    }


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda c: c["departments"][1].update(region="34x8"), "departments.1.region"),
        (lambda c: c["departments"][1].update(level="county"), "does not match region 3408"),
        (lambda c: c["departments"][1].update(id="ah-wxb"), "'ah-wxb' is used twice"),
        (lambda c: c["departments"][1]["head"].update(email="nobody"), "departments.1.head.email"),
        (lambda c: c["departments"][1].update(boss="乙"), "departments.1.boss"),
        (lambda c: c["departments"][1].pop("type"), "departments.1.type"),
        (lambda c: c.update(home_region="3408"), "home_region: no 网信办 department in region 3408"),
        (lambda c: c.update(duty_rosters=[{"region": "34", "rotation_start": "2026-11-02", "officers": []}]),
         "duty_rosters.0.officers"),
        (lambda c: c.update(duty_rosters=[{"region": "34", "rotation_start": "2026-11-02", "handover": 510,
                                           "officers": [{"name": "丙"}]}]), "duty_rosters.0.handover"),
    ],
)
def test_yaml_errors_name_the_field(tmp_path: Path, change, fragment: str) -> None:
    config = _base()
    change(config)
    path = tmp_path / "departments.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    with pytest.raises(DirectoryError) as info:
        Directory.load_yaml(path)
    assert str(path) in str(info.value) and fragment in str(info.value)


def test_minimal_valid_directory(tmp_path: Path) -> None:
    path = tmp_path / "departments.yaml"
    path.write_text(yaml.safe_dump(_base(), allow_unicode=True), encoding="utf-8")
    minimal = Directory.load_yaml(path)
    got = minimal.assign(category=None, department_type="卫生健康委员会", locations=[loc("大观区", "340803")])
    assert got.department_id == "aq-wjw"


def test_category_types_override_the_nlp_table(tmp_path: Path) -> None:
    config = _base() | {"category_types": {"卫生计生": "网信办"}}
    path = tmp_path / "departments.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    got = Directory.load_yaml(path).assign(category="卫生计生", department_type=None,
                                           locations=[loc("大观区", "340803")])
    assert got.department_id == "ah-wxb" and "卫生计生 → 网信办" in got.reason


def test_saved_directory_loads_back_and_reimport_replaces(db_engine: Engine, directory: Directory) -> None:
    now = datetime(2026, 11, 23, 9, tzinfo=CN_TZ)
    with Session(db_engine) as session:
        directory.save(session, now=now)
        session.commit()
    with Session(db_engine) as session:
        stored = Directory.from_db(session)
    # Stored departments come back grouped by region (34, 3401, 340104 …), otherwise unchanged.
    assert [d.region for d in stored.departments] == sorted(d.region for d in directory.departments)
    by_id = sorted(directory.departments, key=lambda d: d.id)
    assert sorted(stored.departments, key=lambda d: d.id) == by_id
    assert stored.config.model_copy(update={"departments": ()}) == directory.config.model_copy(
        update={"departments": ()}
    )
    at = datetime(2026, 12, 31, 20, tzinfo=CN_TZ)
    assert stored.duty_officer("34", at) == directory.duty_officer("34", at)

    smaller = Directory(directory.config.model_copy(update={
        "departments": directory.config.departments[:3], "duty_rosters": ()}))
    with Session(db_engine) as session:
        smaller.save(session, now=now)
        session.commit()
    with Session(db_engine) as session:
        again = Directory.from_db(session)
    assert {d.id for d in again.departments} == {d.id for d in directory.config.departments[:3]}
    assert again.config.duty_rosters == ()


def test_empty_database_says_how_to_fill_it(db_engine: Engine) -> None:
    with Session(db_engine) as session, pytest.raises(DirectoryError, match="departments import"):
        Directory.from_db(session)


def test_type_missing_everywhere_goes_to_the_local_cyberspace_office(directory: Directory) -> None:
    assert not any(d.type == "人民法院" for d in directory.departments)
    got = directory.assign(category=None, department_type="人民法院", locations=[ZHENPING])
    assert got.department_id == "ny-zp-wxb" and "均无人民法院" in got.reason
    outside = directory.assign(category=None, department_type="人民法院", locations=[loc("海淀区", "110108")])
    assert outside.department_id == directory.duty_office().id
