"""``/v1/disputes``: staging and submitting evidence, metadata, and closing (accepting the
loss). As in Stripe's test mode, submitting ``evidence[uncategorized_text]`` of
``winning_evidence`` or ``losing_evidence`` has the dispute won or lost at once."""

from __future__ import annotations

from starlette.routing import Route

from revstack.sandbox.fakes.stripe.charging import blank_evidence
from revstack.sandbox.fakes.stripe.errors import StripeRequestError
from revstack.sandbox.fakes.stripe.events import Write
from revstack.sandbox.fakes.stripe.http import Api, Call
from revstack.sandbox.fakes.stripe.store import Json
from revstack.sandbox.fakes.stripe.world_index import Record
from revstack.sandbox.fakes.stripe.writes_base import WriteHandlers
from revstack.sandbox.world import stripe_render as render
from revstack.sandbox.world.clock import DAY, day_start
from revstack.sandbox.world.stripe_model import BalanceTransaction

UPDATE = ("evidence", "metadata", "submit", "intended_submission_method", "expand")
SUBMISSION_METHODS = ("manual", "prefer_manual", "prefer_smart_submit", "smart_submit")
#: Status after submitting evidence, by status before.
SUBMITTED = {"needs_response": "under_review", "warning_needs_response": "warning_under_review"}
CLOSED = ("won", "lost", "warning_closed", "prevented", "charge_refunded")
MAX_EVIDENCE_TEXT = 20_000


def _evidence_fields() -> tuple[str, ...]:
    return tuple(name for name in blank_evidence() if name != "enhanced_evidence")


def _refuse(message: str) -> StripeRequestError:
    return StripeRequestError(message, saved=True)


class DisputeWrites(WriteHandlers):
    def routes(self, api: Api) -> list[Route]:
        return [
            api.route("/v1/disputes/{id}", self.update, "POST"),
            api.route("/v1/disputes/{id}/close", self.close, "POST"),
        ]

    def update(self, call: Call) -> tuple[int, bytes]:
        params = call.params
        params.check(UPDATE)
        given = params.hash("evidence")
        values: Json = {}
        if given is not None:
            given.check(_evidence_fields())
            for name in given.data:
                values[name] = given.string(name, max_length=MAX_EVIDENCE_TEXT) or None
        submit = params.boolean("submit")
        params.enum("intended_submission_method", SUBMISSION_METHODS)
        metadata = params.metadata()
        submitting = submit is True or (given is not None and submit is None)
        write = self.begin(call)
        record, before = self.find("dispute", call.path("id"), write.at)
        after = dict(before)
        structural = given is not None or submitting
        if structural:
            self._check_open(before, write.at)
            evidence = {**(before.get("evidence") or blank_evidence()), **values}
            details = dict(before["evidence_details"])
            details["has_evidence"] = any(
                value for name, value in evidence.items() if name != "enhanced_evidence"
            )
            if submitting:
                if not details["has_evidence"]:
                    raise _refuse("You must provide evidence before submitting it.")
                details["submission_count"] = (details.get("submission_count") or 0) + 1
                after["status"] = SUBMITTED[before["status"]]
            after.update(evidence=evidence, evidence_details=details)
        if metadata is not None:
            after["metadata"] = metadata.apply(before.get("metadata"))
        if after != before:
            patch: tuple[Json, object] | None = None if structural else ({}, metadata)
            write.update(record, after, patch=patch, end_script=structural)
            write.emit_update("charge.dispute.updated", before, after)
        if submitting:
            verdict = (after["evidence"].get("uncategorized_text") or "").strip()
            if verdict in ("winning_evidence", "losing_evidence"):
                self._rule(write, record, after, won=verdict == "winning_evidence")
        return self.respond(write, record)

    @staticmethod
    def _check_open(dispute: Json, at: int) -> None:
        status = dispute["status"]
        if status in CLOSED:
            raise _refuse(f"This dispute is already closed ({status}).")
        if status not in SUBMITTED:
            raise _refuse(
                "This dispute's evidence has already been submitted and can no longer be changed."
            )
        due_by = (dispute.get("evidence_details") or {}).get("due_by")
        if due_by is not None and due_by < at:
            raise _refuse("The deadline for submitting evidence for this dispute has passed.")

    def _rule(self, write: Write, record: Record, dispute: Json, *, won: bool) -> None:
        """The card network's decision on a submitted dispute: won (the withdrawn amount is
        reinstated, the dispute fee is not) or lost; an inquiry just closes."""
        after = dict(dispute)
        inquiry = dispute["status"].startswith("warning_")
        after["status"] = "warning_closed" if inquiry else ("won" if won else "lost")
        reinstated = not inquiry and won and bool(dispute.get("balance_transactions"))
        if reinstated:
            reversal = BalanceTransaction(
                id=self.store.new_id("txn"),
                created=write.at,
                amount=dispute["amount"],
                fee=0,
                currency=dispute["currency"],
                type="adjustment",
                reporting_category="dispute_reversal",
                source=dispute["id"],
                available_on=day_start(write.at) + 2 * DAY,
                description=f"Chargeback reversal for {dispute['charge']}",
            )
            bt = render.balance_transaction(reversal, write.at)
            write.create(bt)
            after["balance_transactions"] = [*dispute["balance_transactions"], bt]
        write.update(record, after, end_script=True)
        write.emit("charge.dispute.closed", after)
        if reinstated:
            write.emit("charge.dispute.funds_reinstated", after)

    def close(self, call: Call) -> tuple[int, bytes]:
        call.params.check(("expand",))
        write = self.begin(call)
        record, before = self.find("dispute", call.path("id"), write.at)
        status = before["status"]
        if status in CLOSED:
            raise _refuse(f"This dispute is already closed ({status}).")
        after = {**before, "status": "warning_closed" if status.startswith("warning_") else "lost"}
        write.update(record, after, end_script=True)
        write.emit("charge.dispute.closed", after)
        return self.respond(write, record)
