"""/product, /suit, /qualify, and the suitability step of logging a sale."""

from __future__ import annotations

from sqlalchemy.orm import Session
from telegram import Update

from bot import callback
from bot.callback import ID
from bot.context import CoachContext
from bot.guard import reply, requires, service_errors
from bot.services import in_session
from coach.actor import Me
from coach.services import clients, products
from coach.services import suitability_check as suit
from coach.services.errors import ServiceError
from coach.services.interactions import LogDraft
from coach.vocabulary import STAFF_ROLES, Role
from handlers.help import stale_button

__all__ = ["ask_extra_steps", "warn_if_unsuitable"]


# --- the catalogue ----------------------------------------------------------------------


@requires(*STAFF_ROLES, Role.REFERRER)
async def show_product(update: Update, context: CoachContext) -> None:
    """/product CODE (or exact name): the product card, benefit first; /product lists all."""
    query = " ".join(context.args or [])
    if not query:
        items = await in_session(context.svc, products.list_products)
        await reply(update, context, "product_list", items=items)
        return
    view = await in_session(context.svc, products.find_product, query)
    if view is None:
        await reply(update, context, "errors", code="product_not_found", value=query)
        return
    await reply(update, context, "product_card", p=view)


@requires(*STAFF_ROLES, Role.REFERRER)
async def product_button(update: Update, context: CoachContext) -> None:
    """Button ``pd <id>``: a product card (the catalogue is not secret, ids are checked)."""
    query = update.callback_query
    assert query is not None
    parsed = callback.parse(query.data, "pd", ID)
    if parsed is None:
        await stale_button(update, context)
        return
    await query.answer()
    view = await in_session(context.svc, products.get_product, parsed[0])
    if view is None:
        await reply(update, context, "errors", code="product_not_found", value="")
        return
    await reply(update, context, "product_card", p=view)


# --- /suit CLIENT PRODUCT -----------------------------------------------------------------


@service_errors()
async def _show_check(update: Update, context: CoachContext, client_id: int,
                      product_id: int) -> None:
    svc = context.svc
    check = await in_session(svc, suit.check_client_product, context.caller, client_id,
                             product_id, clock=svc.clock,
                             rules=suit.SuitRules.from_settings(svc.settings))
    await reply(update, context, "suit_result", c=check, own=check.own)


def _product_and_client(s: Session, me: Me, words: list[str]
                        ) -> tuple[int, list[str], clients.Lookup] | None:
    """The product named by the last words and the client by the words before (None: no
    product)."""
    for k in range(1, len(words)):
        product = products.find_product(s, " ".join(words[-k:]))
        if product is not None:
            client_words = words[:-k]
            return product.id, client_words, clients.lookup(s, me, " ".join(client_words))
    return None


@requires(*STAFF_ROLES)
async def suit_command(update: Update, context: CoachContext) -> None:
    """/suit CLIENT PRODUCT: suitable or not, and why; suitable alternatives if not."""
    words = list(context.args or [])
    if len(words) < 2:
        await reply(update, context, "usage", command="suit")
        return
    picked = await in_session(context.svc, _product_and_client, context.caller, words)
    if picked is None:
        await reply(update, context, "errors", code="product_not_found", value=words[-1])
        return
    product_id, client_words, found = picked
    if found.client_id is not None:
        await _show_check(update, context, found.client_id, product_id)
        return
    await reply(update, context, "suit_choices", query=" ".join(client_words),
                choices=found.choices, owned=found.owned, product_id=product_id)


@requires(*STAFF_ROLES)
async def suit_button(update: Update, context: CoachContext) -> None:
    """Button ``su <client> <product>``: the check again (access re-checked)."""
    query = update.callback_query
    assert query is not None
    parsed = callback.parse(query.data, "su", ID, ID)
    if parsed is None:
        await stale_button(update, context)
        return
    await query.answer()
    await _show_check(update, context, parsed[0], parsed[1])


# --- /qualify ------------------------------------------------------------------------------


@service_errors()
@requires(*STAFF_ROLES)
async def qualify(update: Update, context: CoachContext) -> None:
    """/qualify [@member [CODE|-CODE]]: list, grant or revoke seller qualifications."""
    args = list(context.args or [])
    svc, me = context.svc, context.caller
    if len(args) > 2 or (args and not args[0].startswith("@")):
        await reply(update, context, "usage", command="qualify")
        return
    if len(args) == 2 and args[1].startswith("-"):
        name, code = await in_session(svc, suit.revoke_qualification, me, args[0], args[1][1:])
        await reply(update, context, "qualify_done", name=name, code=code, action="revoked")
        return
    if len(args) == 2:
        name, code, created = await in_session(svc, suit.grant_qualification, me, args[0],
                                               args[1], clock=svc.clock)
        await reply(update, context, "qualify_done", name=name, code=code,
                    action="granted" if created else "already")
        return
    name, lines = await in_session(svc, suit.list_qualifications, me,
                                   args[0] if args else None)
    await reply(update, context, "qualify_list", name=name, lines=lines)


# --- the sale step of /log (called from handlers/log.py) --------------------------------


async def _sale_check(context: CoachContext, draft: LogDraft) -> suit.SuitCheck | None:
    svc = context.svc
    try:
        return await in_session(svc, suit.check_sale, context.caller,
                                client_id=draft.client_id, outcome=draft.outcome,
                                product=draft.product, clock=svc.clock,
                                rules=suit.SuitRules.from_settings(svc.settings))
    except ServiceError:
        return None  # record_outcome refuses with the proper message


async def ask_extra_steps(update: Update, context: CoachContext, draft: LogDraft) -> bool:
    """Before saving a sale to a client who needs more care (elderly, first risk purchase,
    vulnerable): ask for a second person present and a recorded explanation.

    Returns True when the question was shown (the flow waits for "lg xs" or "lg x").
    """
    check = await _sale_check(context, draft)
    if check is None or not check.needs_extra_steps:
        return False
    await reply(update, context, "suit_extra_steps", c=check)
    return True


async def warn_if_unsuitable(update: Update, context: CoachContext, draft: LogDraft) -> bool:
    """Before saving a sale: show why it is unsuitable and ask how to record it.

    Returns True when the warning was shown (the flow waits for "lg ins" / "lg uns").
    """
    check = await _sale_check(context, draft)
    if check is None or check.suitable:
        return False
    await reply(update, context, "suit_sale_warning", c=check)
    return True

