"""The ``shopkeep`` command: one Typer app; each command group lives in its own module."""

from __future__ import annotations

import typer

from shopkeep.cli.agents_cmds import agents_app
from shopkeep.cli.catalog_cmds import catalog_app
from shopkeep.cli.chat_cmds import chat_command
from shopkeep.cli.eval_cmds import eval_app
from shopkeep.cli.experiments_cmds import experiments_app
from shopkeep.cli.flows_cmds import flows_app
from shopkeep.cli.nlu_cmds import nlu_app
from shopkeep.cli.prompts_cmds import prompts_app
from shopkeep.cli.replies_cmds import replies_app
from shopkeep.cli.retention_cmds import forget_command, retention_command
from shopkeep.cli.retrieval_cmds import ask_command, eval_retrieval_command, index_command, search_command
from shopkeep.cli.scenario_cmds import scenarios_app
from shopkeep.cli.serve import serve_command
from shopkeep.cli.shop_cmds import customers_app, init_command, kb_app
from shopkeep.cli.store_cmds import migrate_command, seed_command, store_app
from shopkeep.cli.tools_cmds import tools_app
from shopkeep.observability import configure_logging
from shopkeep.settings import get_settings

app = typer.Typer(
    help="Shopkeep: a conversational commerce assistant.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _configure() -> None:
    """Shopkeep: a conversational commerce assistant."""
    configure_logging(get_settings())


app.command("init")(init_command)
app.command("seed")(seed_command)
app.command("migrate")(migrate_command)
app.command("forget")(forget_command)
app.command("retention")(retention_command)
app.command("serve")(serve_command)
app.command("chat")(chat_command)
app.command("index")(index_command)
app.command("search")(search_command)
app.command("ask")(ask_command)
app.add_typer(agents_app, name="agents")
app.add_typer(catalog_app, name="catalog")
app.add_typer(customers_app, name="customers")
app.add_typer(kb_app, name="kb")
app.add_typer(store_app, name="store")
app.add_typer(tools_app, name="tools")
app.add_typer(eval_app, name="eval")
eval_app.command("retrieval")(eval_retrieval_command)
app.add_typer(nlu_app, name="nlu")
app.add_typer(prompts_app, name="prompts")
app.add_typer(flows_app, name="flows")
app.add_typer(replies_app, name="replies")
app.add_typer(scenarios_app, name="scenarios")
app.add_typer(experiments_app, name="experiments")

if __name__ == "__main__":
    app()
