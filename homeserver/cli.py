"""The `homeserver` command: run, migrate, create-user, generate-config."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from homeserver.config import CONFIG_FILE_NAME, Config, ConfigError, load_config
from homeserver.logging_setup import configure_logging

if TYPE_CHECKING:
    from hypercorn.config import Config as HypercornConfig
    from quart import Quart


def _config(args: argparse.Namespace) -> Config:
    data_dir = Path(args.data_dir).resolve() if args.data_dir else None
    return load_config(data_dir)


def run(config: Config) -> None:
    from hypercorn.config import Config as HypercornConfig

    from homeserver.app import create_app

    configure_logging(config.log_level)
    hyper = HypercornConfig()
    hyper.bind = [f"{config.bind_address}:{config.port}"]
    hyper.accesslog = None
    hyper.keep_alive_timeout = 75
    hyper.graceful_timeout = 3
    # Our frames are small; the stream rejects big ones itself, this bounds memory.
    hyper.websocket_max_message_size = 1024 * 1024
    app = create_app(config)
    # The public base URL first: sign-in (OAuth cookies, redirects) works only
    # there, not necessarily at the address the socket is bound to.
    print(
        f"homeserver ready: open {config.base_url.rstrip('/')}/ "
        f"(listening on {config.bind_address}:{config.port}, server name "
        f"{config.server_name}, data in {config.data_dir})",
        flush=True,
    )
    _run_loop(_serve(app, hyper))


def _run_loop(main: Coroutine[Any, Any, None]) -> None:
    """Runs on uvloop where it is installed (Linux, macOS): the same asyncio
    programming model with the event loop and socket handling in C."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    uvloop.run(main)


async def _serve(app: Quart, hyper: HypercornConfig) -> None:
    """Serves until SIGINT/SIGTERM; then ends pending long polls and streams at
    once, so that they answer instead of being cancelled after the grace time."""
    from hypercorn.asyncio import serve

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    async def shutdown_trigger() -> None:
        await stop.wait()
        server = app.extensions.get("homeserver")
        if server is not None:
            server.notifier.close()

    await serve(app, hyper, shutdown_trigger=shutdown_trigger)  # type: ignore[arg-type]


async def _migrate(config: Config) -> None:
    from homeserver.storage import Storage

    storage = await Storage.open(config.effective_database_url)
    await storage.close()


async def _create_user(config: Config, localpart: str, password: str, admin: bool) -> str:
    from homeserver.server import HomeServer

    server = await HomeServer.start(config)
    try:
        return await server.accounts.register(localpart, password, is_admin=admin)
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="homeserver", description=__doc__)
    parser.add_argument("--data-dir", help="data directory (default: $DATA_DIR or ./data)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="start the server")
    commands.add_parser("migrate", help="apply database migrations and exit")
    commands.add_parser("generate-config", help=f"write {CONFIG_FILE_NAME} if missing and exit")
    create = commands.add_parser("create-user", help="create an account")
    create.add_argument("username")
    create.add_argument("--password", help="(prompted for when omitted)")
    create.add_argument("--admin", action="store_true")
    args = parser.parse_args(argv)

    try:
        config = _config(args)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        sys.exit(2)
    if args.command == "run":
        run(config)
    elif args.command == "migrate":
        configure_logging(config.log_level)
        asyncio.run(_migrate(config))
        print("database is up to date")
    elif args.command == "generate-config":
        print(f"config: {config.data_dir / CONFIG_FILE_NAME}")
    elif args.command == "create-user":
        configure_logging("WARNING")
        password = args.password or getpass.getpass("Password: ")
        from homeserver.errors import MatrixError

        try:
            user_id = asyncio.run(_create_user(config, args.username, password, args.admin))
        except MatrixError as exc:
            print(f"error: {exc.error}", file=sys.stderr)
            sys.exit(1)
        print(f"created {user_id}{' (admin)' if args.admin else ''}")
