"""Who may change a session or stop its turns.

Reading any session is every USE_ROBOTS member's right (robots are shared team tools), and
so is chatting in one. Changing a session (its name and settings) or deleting it is its
creator's, and that of those who manage robots; stopping a turn is also its poster's.
"""

from __future__ import annotations

from app.domain.accounts import Account, Permission
from app.domain.session import SessionState, Turn


class NotPermitted(Exception):
    """The account may not do this to the session (a 403)."""

    def __init__(self, session_id: str, action: str, allowed: str) -> None:
        self.session_id = session_id
        self.action = action
        super().__init__(f"only {allowed} may {action} session {session_id}")


def may_change_session(account: Account, state: SessionState) -> bool:
    """Rename, change settings, delete: the creator, or one who manages robots."""
    return _manages(account) or _is(account, state.created_by)


def may_cancel_turn(account: Account, state: SessionState, turn: Turn) -> bool:
    """Cancel (or interrupt) a turn: its poster, the session's creator, or a manager."""
    return may_change_session(account, state) or _is(account, turn.requested_by)


def check_change(account: Account, state: SessionState, session_id: str,
                 action: str) -> None:
    """Raises NotPermitted unless `account` may change the session (one that does not exist,
    or no longer does, is left for the decider to refuse)."""
    if state.exists and not state.deleted and not may_change_session(account, state):
        raise NotPermitted(session_id, action,
                           "the session's creator or an account with MANAGE_ROBOTS")


def check_cancel(account: Account, state: SessionState, session_id: str,
                 turn_id: str, action: str = "cancel") -> None:
    """Raises NotPermitted unless `account` may cancel the turn, or do to it what else its
    poster may (`action`: replace its answer); an unknown turn is left for the decider to
    refuse."""
    turn = state.turn(turn_id)
    if turn is not None and not may_cancel_turn(account, state, turn):
        raise NotPermitted(session_id, f"{action} turn {turn_id} of",
                           "the turn's poster, the session's creator or an account with"
                           " MANAGE_ROBOTS")


def _manages(account: Account) -> bool:
    return Permission.MANAGE_ROBOTS in account.permissions


def _is(account: Account, account_id: str | None) -> bool:
    return account_id is not None and account_id == str(account.id)
