"""The interactive API docs work on a machine without internet (defect 1.15)."""

from __future__ import annotations

from tests.e2e.browser import LiveServer, OfflinePage

# Well under a second normally; the bound only keeps a broken page from hanging the suite.
RENDER_TIMEOUT_MS = 30_000


async def test_swagger_ui_renders_every_operation_offline(
    live_server: LiveServer, offline_page: OfflinePage
) -> None:
    page = offline_page.page
    await page.goto(f"{live_server.base_url}/docs")

    operations = page.locator(".opblock")
    await operations.first.wait_for(timeout=RENDER_TIMEOUT_MS)
    paths = await page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/v1/tasks" in [path.replace("\u200b", "") for path in paths]
    assert await page.locator(".information-container .title").inner_text() != ""
    assert offline_page.blocked == []
    assert offline_page.errors == []
