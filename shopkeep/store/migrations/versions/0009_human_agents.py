"""human agents: accounts with hashed tokens, internal ticket notes, and a ticket's claim and resolution

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

Tickets an earlier version marked ``assigned`` are ``claimed`` now (the escalation API's word for it).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("escalations", sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("escalations", sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("escalations", sa.Column("resolution_note", sa.Text(), nullable=True))
    op.add_column("escalations", sa.Column("handed_back", sa.Boolean(), nullable=True))
    op.execute("UPDATE escalations SET status = 'claimed' WHERE status = 'assigned'")
    op.create_table(
        "human_agents",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("token_id", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_human_agents"),
        sa.UniqueConstraint("token_id", name="uq_human_agents_token_id"),
    )
    op.create_table(
        "ticket_notes",
        sa.Column("note_id", sa.Integer(), sa.Identity(), nullable=False),
        sa.Column("ticket_id", sa.String(length=64), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("note_id", name="pk_ticket_notes"),
    )
    op.create_index("ix_ticket_notes_ticket_id", "ticket_notes", ["ticket_id"])


def downgrade() -> None:
    op.drop_index("ix_ticket_notes_ticket_id", table_name="ticket_notes")
    op.drop_table("ticket_notes")
    op.drop_table("human_agents")
    op.execute("UPDATE escalations SET status = 'assigned' WHERE status = 'claimed'")
    with op.batch_alter_table("escalations") as batch:  # SQLite drops columns by copying the table
        for column in ("handed_back", "resolution_note", "resolved_at", "claimed_at"):
            batch.drop_column(column)
