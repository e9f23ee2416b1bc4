"""conversation events: the customer a conversation's events belong to, so erasure finds a customer's conversations

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

Events recorded before this revision have no customer; ``shopkeep forget`` also finds those conversations by the
customer's email in their tool calls and by their escalation tickets and carts.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("conversation_events", sa.Column("customer_id", sa.String(length=64), nullable=True))
    op.create_index("ix_conversation_events_customer_id", "conversation_events", ["customer_id"])


def downgrade() -> None:
    op.drop_index("ix_conversation_events_customer_id", table_name="conversation_events")
    op.drop_column("conversation_events", "customer_id")
