"""payplan store: the evidence pack kept with each signed agreement.

Two nullable columns on ``payplan_agreements``: ``evidence`` (the JSON of
the :class:`payplan.guardrails.EvidencePack` frozen at signing) and
``evidence_sha256`` (its digest, checked when it is read back, as the
agreement text's is). Agreements signed before keep no evidence (NULL).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('payplan_agreements') as batch:
        batch.add_column(sa.Column('evidence', sa.Text(), nullable=True))
        batch.add_column(sa.Column('evidence_sha256', sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('payplan_agreements') as batch:
        batch.drop_column('evidence_sha256')
        batch.drop_column('evidence')
