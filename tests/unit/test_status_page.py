"""The status page is a Jinja2 template with autoescaping: whatever a file name or an error holds,
it is shown as text, never run as markup."""

from __future__ import annotations

from clauses.run.status import render_status_page


def test_every_value_is_escaped_and_every_region_listed() -> None:
    hostile = '<script>alert("x")</script>.csv'
    status = {
        "as_of": "2025-03-01",
        "regions": [
            {
                "region": "11",
                "name": "Île-de-France",
                "last_files": [
                    {"received": "2025-02-01", "file": hostile, "status": "refusé"},
                    {"received": "2025-01-01", "file": "b.csv", "status": "chargé"},
                ],
                "quarantined": [{"received": "2025-02-01", "file": hostile}],
                "decisions": {"libérable": 2, "à examiner": 1},
                "last_run": {"run_id": "scheduled__x", "error": "<b>boom</b>"},
            },
            {
                "region": "24",
                "name": "Centre-Val de Loire",
                "last_files": [],
                "quarantined": [],
                "decisions": {},
                "last_run": None,
            },
        ],
    }
    page = render_status_page(status)
    assert "<script>" not in page and "<b>boom</b>" not in page
    assert (
        "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;.csv (refusé)<br>2025-01-01 b.csv" in page
    )
    assert "ERROR &lt;b&gt;boom&lt;/b&gt;" in page
    assert "libérable: 2, à examiner: 1" in page  # sorted by code point, as dictsort does
    assert "11 Île-de-France" in page and "24 Centre-Val de Loire" in page
    assert page.count("<tr>") == 3  # the header row and one row per region
