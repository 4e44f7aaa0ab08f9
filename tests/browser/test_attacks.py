"""The attacks a site on the internet meets, tried in headless Chromium against the example site.

Each was possible on the example site before it was made safe (issue #22): the
dashboard and the owner's actions were open to anyone, any booking opened by
its plan id, a page on another origin could post the owner's and the
clients' forms, a webhook signed with the sandbox's default secret was
applied, and every page could be framed.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from .conftest import LiveSite, OtherOrigin


def autosubmit(action: str, fields: dict[str, str]) -> str:
    """An attacker's page that posts a form to *action* as soon as it loads (its own script: it may)."""
    inputs = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in fields.items())
    return (f'<h1>Win a free photo session!</h1><form id="f" method="post" action="{action}">{inputs}</form>'
            '<script>document.getElementById("f").submit()</script>')


class TestAnonymousOwnerAccess:
    def test_dashboard_and_owner_actions_need_the_login(self, live_site: LiveSite, browser_page: Any, shots: Any) -> None:
        """Without the owner's login the dashboard is the login page, and the owner's actions are refused."""
        page, site = browser_page, live_site.site
        live_site.book("bk-ana", "Ana Lima", "ana@example.com")
        day, sent = site.today, len(site.notifier.sent)  # type: ignore[attr-defined]
        page.goto(live_site.url + "/owner")
        assert page.url == live_site.url + "/login"
        assert "ana@example.com" not in page.content()
        shots(page, "login")
        shots.phone(page, "login")
        # The owner's actions, posted from the site's own origin with a good CSRF token but no login.
        token = page.get_attribute("input[name=csrf_token]", "value")
        for path, form in (("/owner/clock", {"days": "30"}), ("/owner/collections", {})):
            response = page.request.post(live_site.url + path, form={**form, "csrf_token": token}, max_redirects=0)
            assert response.status == 403, path
        assert site.today == day, "the demo clock did not move"
        assert len(site.notifier.sent) == sent  # type: ignore[attr-defined]
        # A wrong password is refused; the right one opens the dashboard.
        page.fill("#login-name", "owner")
        page.fill("#login-password", "guess")
        page.click("#login")
        assert "Wrong name or password." in page.inner_text("#login-error")
        live_site.log_in(page)
        page.goto(live_site.url + "/owner")
        assert page.query_selector("#run-collections")


class TestAnotherClientsBooking:
    def test_plan_ids_and_altered_links_open_nothing(self, live_site: LiveSite, browser_page: Any) -> None:
        """A client with their own link cannot reach another booking by its id or by altering the link."""
        page, site = browser_page, live_site.site
        mine = live_site.book("bk-ana", "Ana Lima", "ana@example.com")
        theirs = live_site.book("bk-ben", "Ben Okafor", "ben@example.com")
        page.goto(live_site.link(mine))
        assert "Ana Lima" in page.inner_text("h1")
        payload, signature = live_site.link(mine).rsplit("/", 1)[-1].split(".")
        forged = base64.urlsafe_b64encode(json.dumps(theirs).encode()).decode().rstrip("=") + "." + signature
        for path in (f"/plans/{theirs}", f"/b/{theirs}", f"/b/{forged}", f"/b/{forged}/schedule.ics",
                     f"/b/{payload}.{signature[:-2]}xy"):
            response = page.goto(live_site.url + path)
            assert response.status == 404, path
            assert "Ben Okafor" not in page.content()
        page.goto(live_site.link(mine))
        token = page.get_attribute("#cancel-form input[name=csrf_token]", "value")
        refused = page.request.post(f"{live_site.url}/b/{forged}/cancel", form={"csrf_token": token})
        assert refused.status == 404
        assert site.store.load(theirs).ledger.cancellation is None


class TestCrossOriginFormPost:
    def test_a_page_elsewhere_cannot_post_the_owners_or_a_clients_forms(
        self, live_site: LiveSite, other_origin: OtherOrigin, browser_page: Any, shots: Any,
    ) -> None:
        """With the owner logged in and a client's link known, another origin's forms change nothing."""
        page, site = browser_page, live_site.site
        plan_id = live_site.book("bk-ana", "Ana Lima", "ana@example.com")
        live_site.log_in(page)
        day = site.today
        attacks = {
            "/clock": autosubmit(live_site.url + "/owner/clock", {"days": "30"}),
            "/collections": autosubmit(live_site.url + "/owner/collections", {}),
            "/cancel": autosubmit(live_site.link(plan_id) + "/cancel", {}),
        }
        for path, html in attacks.items():
            page.goto(other_origin.page(path, html))
            page.wait_for_selector("h1:has-text('This form has expired')")
            assert page.url.startswith(live_site.url), "the form was posted to the site"
        shots(page, "refused")
        assert site.today == day, "the demo clock did not move"
        assert site.store.load(plan_id).ledger.cancellation is None, "the booking is not cancelled"
        # The owner is still logged in, and the same actions from the site's own pages work.
        page.goto(live_site.url + "/owner")
        page.click("#run-collections")
        assert "Today's collections ran" in page.inner_text(".flash")


class TestForgedWebhook:
    def test_a_delivery_signed_with_the_default_secret_is_refused(self, live_site: LiveSite, browser_page: Any) -> None:
        """A payment signed with the sandbox's public default secret is refused (401), and the ledger is unchanged;
        the same body signed with the site's own secret is applied."""
        page, site = browser_page, live_site.site
        plan_id = live_site.book("bk-ana", "Ana Lima", "ana@example.com")
        assert site.sandbox is not None
        before = site.store.load(plan_id).ledger
        body = json.dumps({
            "amount": 50000, "currency": "USD", "id": "sandbox:evt_forged", "installment": 2,
            "occurred_on": site.today.isoformat(), "plan_id": plan_id, "reason": None, "reference": "ch_forged",
            "sequence": 1, "type": "payment_succeeded",
        }, sort_keys=True).encode()
        for secret in ("whsec_sandbox", "whsec_booking_site"):
            headers = site.sandbox.sign(body, secret=secret)
            response = page.request.post(live_site.url + "/webhooks/sandbox", data=body,
                                         headers={**headers, "Content-Type": "application/json"})
            assert response.status == 401, secret
            assert response.json()["outcome"] == "forged"
        assert site.store.load(plan_id).ledger == before
        genuine = page.request.post(live_site.url + "/webhooks/sandbox", data=body,
                                    headers={**site.sandbox.sign(body), "Content-Type": "application/json"})
        assert genuine.status == 200
        assert site.store.load(plan_id).ledger.paid.minor == before.paid.minor + 50000


class TestFramedPage:
    def test_no_page_renders_inside_another_sites_frame(
        self, live_site: LiveSite, other_origin: OtherOrigin, browser_page: Any,
    ) -> None:
        """Pages framed by another origin (clickjacking) are not shown: CSP frame-ancestors and X-Frame-Options."""
        page = browser_page
        plan_id = live_site.book("bk-ana", "Ana Lima", "ana@example.com")
        targets = [live_site.url + "/", live_site.url + "/login", live_site.link(plan_id)]
        html = "<h1>Frames</h1>" + "".join(f'<iframe src="{t}" width="600" height="400"></iframe>' for t in targets)
        page.goto(other_origin.page("/frames", html))
        page.wait_for_load_state("load")
        frames = page.frames[1:]
        assert len(frames) == len(targets)
        for frame in frames:
            # Chromium replaces a refused frame with its own error page: none of the site's markup is inside.
            assert frame.query_selector("header.top") is None, frame.url
            assert frame.evaluate("() => document.body ? document.body.innerText : ''").find("Lumen Photo Studio") < 0
