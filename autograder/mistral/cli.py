"""``tadrib mistral``: commands for the offline classroom server. Imports stay lazy."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from autograder.mistral import DEFAULT_API_KEY, DEFAULT_PORT


@click.group()
def mistral() -> None:
    """Mistral endpoints: the offline classroom server and the gateway."""


@mistral.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--api-key",
    "api_keys",
    multiple=True,
    default=(DEFAULT_API_KEY,),
    show_default=True,
    help="Key accepted as 'Authorization: Bearer KEY' (repeat for several).",
)
@click.option(
    "--request-budget",
    type=click.IntRange(min=0),
    default=None,
    help="Requests each key may make before getting 429 (default: no limit).",
)
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Allow a non-loopback --host (needs a non-default --api-key).",
)
def serve(
    host: str, port: int, api_keys: tuple[str, ...], request_budget: int | None, allow_remote: bool
) -> None:
    """Serve Mistral's chat, embeddings and models API offline, deterministically.

    A classroom stand-in, not a Mistral model. Point notebooks at it with
    TADRIB_MISTRAL_MODE=classroom and TADRIB_MISTRAL_URL=http://HOST:PORT.
    """
    from autograder.mistral import server

    try:
        server.check_host(host, allow_remote=allow_remote, api_keys=api_keys)
    except server.RemoteBindRefused as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(
        f"Serveur de classe Tadrib (pas un modèle Mistral) sur http://{host}:{port}\n"
        f"  export TADRIB_MISTRAL_MODE=classroom TADRIB_MISTRAL_URL=http://{host}:{port}"
    )
    server.serve(
        host=host,
        port=port,
        api_keys=api_keys,
        request_budget=request_budget,
        allow_remote=allow_remote,
    )


@mistral.group()
def gateway() -> None:
    """The Mistral gateway: trainee tokens, daily quotas, redaction of personal data.

    Trainees call the gateway with their own token; it redacts names, emails, phones, CINs, IBANs
    and addresses, checks the quotas, forwards to the configured endpoint and logs the usage under
    the trainee's pseudonym (see docs/mistral.md, "Gateway").
    """


def _workspace_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--workspace", type=click.Path(file_okay=False, path_type=Path), default=None,
                        help="Workspace folder (default: $TADRIB_WORKSPACE or ./var).")(function)


@contextmanager
def _gateway_errors() -> Iterator[None]:
    from autograder.llm import MistralConfigError
    from autograder.mistral.gateway_ledger import GatewayError
    from autograder.roster import RosterError

    try:
        yield
    except (GatewayError, MistralConfigError, RosterError) as exc:
        raise click.ClickException(str(exc)) from None


@gateway.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8766, show_default=True, type=int, help="Port to listen on.")
@click.option("--allow-remote", is_flag=True, help="Allow a non-loopback --host (put TLS in front).")
@click.option("--trainee-requests", type=click.IntRange(min=0), help="Requests per trainee per day.")
@click.option("--trainee-tokens", type=click.IntRange(min=0), help="Tokens per trainee per day.")
@click.option("--cohort-requests", type=click.IntRange(min=0), help="Requests per cohort per day.")
@click.option("--cohort-tokens", type=click.IntRange(min=0), help="Tokens per cohort per day.")
@_workspace_option
def gateway_serve(host: str, port: int, allow_remote: bool, workspace: Path | None,
                  **quotas: int | None) -> None:
    """Serve the gateway in front of the configured Mistral endpoint.

    Quotas come from the [gateway] table of WORKSPACE/tadrib.toml; the options override them
    (0: no limit). The upstream is the [mistral] endpoint (hosted, self-hosted or classroom).
    """
    from autograder.llm import load_settings
    from autograder.mistral.gateway import GatewaySettings, serve_gateway
    from autograder.mistral.gateway_ledger import Quotas
    from autograder.mistral.server import is_loopback
    from autograder.workspace import default_workspace

    if not is_loopback(host) and not allow_remote:
        raise click.UsageError(f"Refusing to listen on {host!r}: pass --allow-remote to serve a network.")
    folder = (workspace or default_workspace()).resolve()
    with _gateway_errors():
        settings = GatewaySettings(folder, load_settings(workspace=folder), Quotas.load(folder, **quotas))
        click.echo(f"Passerelle Mistral sur http://{host}:{port} -> {settings.upstream.summary()}\n"
                   f"  quotas : {settings.quotas}")
        serve_gateway(settings=settings, host=host, port=port)


@gateway.command("token")
@click.argument("pseudonym")
@click.option("--revoke", is_flag=True, help="Revoke the trainee's tokens instead of issuing one.")
@_workspace_option
def gateway_token(pseudonym: str, revoke: bool, workspace: Path | None) -> None:
    """Issue a gateway token for the trainee PSEUDONYM (shown once), or --revoke theirs.

    The trainee sets it as their key: TADRIB_MISTRAL_URL=http://GATEWAY and the token in the
    variable named by api_key_env. Only its hash is stored (private/gateway.db).
    """
    from autograder.mistral.gateway_ledger import Ledger
    from autograder.workspace import default_workspace

    with _gateway_errors():
        ledger = Ledger((workspace or default_workspace()).resolve())
        try:
            if revoke:
                click.echo(f"{ledger.revoke(pseudonym)} jeton(s) révoqué(s) pour {pseudonym}")
            else:
                click.echo(ledger.issue(pseudonym))
        finally:
            ledger.close()


@gateway.command("usage")
@click.option("--from", "day_from", help="First day (YYYY-MM-DD, UTC), inclusive.")
@click.option("--to", "day_to", help="Last day (YYYY-MM-DD, UTC), inclusive.")
@click.option("-k", "k", default=10, show_default=True, type=int,
              help="Hide cohorts with fewer active trainees than this.")
@_workspace_option
def gateway_usage(day_from: str | None, day_to: str | None, k: int, workspace: Path | None) -> None:
    """Usage per cohort (requests, tokens, active trainees), small cohorts suppressed.

    Printed, and written to WORKSPACE/reports/gateway_usage.csv for the coordinator's report.
    """
    from autograder.mistral import gateway_ledger
    from autograder.workspace import default_workspace

    with _gateway_errors():
        lines, total, path = gateway_ledger.gateway_usage(
            workspace=(workspace or default_workspace()).resolve(), day_from=day_from, day_to=day_to, k=k)
    for line in [*lines, total]:
        cells = line.cells("<k")
        click.echo("\t".join((line.cohort, *cells)))
    click.echo(f"-> {path}")
