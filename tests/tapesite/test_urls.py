from typing import Any


def test_home_page_links_the_api(client: Any, db: None) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert b"/api/schema/docs/" in response.content
