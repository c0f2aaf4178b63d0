"""The `homeserver` command: run, migrate, create-user, generate-config, port-db."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine
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

    configure_logging(config.log_level, config.log_format)
    hyper = HypercornConfig()
    hyper.bind = [f"{config.bind_address}:{config.port}"]
    hyper.accesslog = None
    # Hypercorn's own messages go through our handler (and format), not a second one.
    hyper.errorlog = logging.getLogger("hypercorn.error")
    hyper.keep_alive_timeout = 75
    hyper.graceful_timeout = 3
    # Our frames are small; the stream rejects big ones itself, this bounds memory.
    hyper.websocket_max_message_size = 1024 * 1024
    app = create_app(config)
    listeners = [(app, hyper)]
    if config.enable_federation:
        listeners.append(_federation_listener(config, app))
    _run_loop(_serve(listeners, config))


def run_workers(config: Config, count: int, data_dir: str | None) -> int:
    """`homeserver run --workers N`: N worker processes of one cluster on
    ports PORT, PORT+1, ...; each is an ordinary `homeserver run` with its own
    PORT (and could as well be started by hand or by systemd). A worker that
    dies is started again; SIGINT/SIGTERM stop them all. Returns the exit code."""
    import subprocess
    import time

    if count < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return 2
    if count > 1 and config.effective_database_url.startswith("sqlite"):
        print(
            "error: several workers need PostgreSQL (DATABASE_URL) and Redis (REDIS_URL); "
            "SQLite serves a single process: run without --workers, or move to "
            "PostgreSQL with `homeserver port-db`.",
            file=sys.stderr,
        )
        return 2
    if count > 1 and not config.redis_url:
        print(
            "error: several workers need REDIS_URL (e.g. redis://127.0.0.1:6379/0), "
            "the Redis they tell each other their news through.",
            file=sys.stderr,
        )
        return 2
    command = [sys.executable, "-m", "homeserver"]
    if data_dir:
        command += ["--data-dir", data_dir]
    command.append("run")

    def spawn(index: int) -> subprocess.Popen[bytes]:
        env = {**os.environ, "PORT": str(config.port + index)}
        if index > 0:
            # One federation listener (its port is one): on the first worker.
            env["ENABLE_FEDERATION"] = "false"
        return subprocess.Popen(command, env=env)

    stopping = False

    def stop(_signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    workers = [spawn(i) for i in range(count)]
    while not stopping:
        time.sleep(0.2)
        for index, worker in enumerate(workers):
            code = worker.poll()
            if code is not None and not stopping:
                if code in (1, 2):  # refused to start: starting again will not help
                    print(f"worker {index} exited with {code}; stopping", file=sys.stderr)
                    stopping = True
                    break
                print(f"worker {index} exited with {code}; starting it again", file=sys.stderr)
                workers[index] = spawn(index)
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    codes = []
    for worker in workers:
        try:
            codes.append(worker.wait(15))
        except subprocess.TimeoutExpired:
            worker.kill()
            codes.append(worker.wait())
    return 0 if all(c in (0, -signal.SIGTERM) for c in codes) else 1


def _federation_listener(config: Config, client_app: Quart) -> tuple[Quart, HypercornConfig]:
    """The HTTPS listener for the server-server API (only loaded when enabled)."""
    from hypercorn.config import Config as HypercornConfig

    from federation.app import create_federation_app

    if not config.tls_certificate_path or not config.tls_private_key_path:
        raise ConfigError(
            "enable_federation needs tls_certificate_path and tls_private_key_path "
            "(federation is HTTPS)"
        )
    for path in (config.tls_certificate_path, config.tls_private_key_path):
        if not Path(path).is_file():
            raise ConfigError(f"TLS file not found: {path}")
    hyper = HypercornConfig()
    hyper.bind = [f"{config.bind_address}:{config.federation_port}"]
    hyper.certfile = config.tls_certificate_path
    hyper.keyfile = config.tls_private_key_path
    hyper.accesslog = None
    hyper.keep_alive_timeout = 75
    hyper.graceful_timeout = 2
    return create_federation_app(config, client_app), hyper


def _run_loop(main: Coroutine[Any, Any, None]) -> None:
    """Runs on uvloop where it is installed (Linux, macOS): the same asyncio
    programming model with the event loop and socket handling in C."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    uvloop.run(main)


async def _serve(listeners: list[tuple[Quart, HypercornConfig]], config: Config) -> None:
    """Serves every listener until SIGINT/SIGTERM; then ends pending long polls
    and streams at once, so that they answer instead of being cancelled after
    the grace time. The first listener's app owns the HomeServer."""
    from hypercorn.asyncio import serve

    from homeserver.server import HomeServer
    from homeserver.storage.writer_lock import DatabaseInUse

    main_app = listeners[0][0]
    # Started here rather than in the app's start-up hook, so that a refusal is
    # one clear line and an exit code, not a lifespan traceback.
    try:
        main_app.extensions["homeserver"] = await HomeServer.start(config)
    except (DatabaseInUse, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None
    # The public base URL first: sign-in (OAuth cookies, redirects) works only
    # there, not necessarily at the address the socket is bound to.
    print(
        f"homeserver ready: open {config.base_url.rstrip('/')}/ "
        f"(listening on {config.bind_address}:{config.port}, server name "
        f"{config.server_name}, data in {config.data_dir})",
        flush=True,
    )
    if config.enable_federation:
        print(
            f"federation listening on https://{config.bind_address}:{config.federation_port}",
            flush=True,
        )

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    async def shutdown_trigger() -> None:
        await stop.wait()
        server = main_app.extensions.get("homeserver")
        if server is not None:
            server.notifier.close()

    async with asyncio.TaskGroup() as group:
        group.create_task(serve(main_app, listeners[0][1], shutdown_trigger=shutdown_trigger))  # type: ignore[arg-type]
        for app, hyper in listeners[1:]:
            group.create_task(_serve_bounded(app, hyper, shutdown_trigger, stop))


async def _serve_bounded(
    app: Quart,
    hyper: HypercornConfig,
    shutdown_trigger: Callable[[], Awaitable[None]],
    stop: asyncio.Event,
) -> None:
    """Serves a secondary listener; once stopping, gives it the grace time and
    then cancels it. (Idle TLS keep-alive connections otherwise hold the
    shutdown until the peer answers the TLS close, up to 30 s.)"""
    from hypercorn.asyncio import serve

    task = asyncio.create_task(serve(app, hyper, shutdown_trigger=shutdown_trigger))  # type: ignore[arg-type]
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if not task.done():
        try:
            await asyncio.wait_for(asyncio.shield(task), hyper.graceful_timeout + 0.5)
        except TimeoutError:
            # Hypercorn, cancelled in its own clean-up, may end with
            # InvalidStateError and leave a cancelled gather unretrieved.
            asyncio.get_running_loop().set_exception_handler(_ignore_cancelled)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, asyncio.InvalidStateError):
                await task
            return
    await task


def _ignore_cancelled(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    if not isinstance(context.get("exception"), asyncio.CancelledError):
        loop.default_exception_handler(context)


async def _migrate(config: Config) -> None:
    from homeserver.storage import Storage

    storage = await Storage.open(config.effective_database_url)
    await storage.close()


async def _create_user(config: Config, localpart: str, password: str, admin: bool) -> str:
    """Writes one user row and nothing of the streams, so it runs beside a
    server that holds the database (it does not start one)."""
    from homeserver.handlers.accounts import Accounts
    from homeserver.handlers.keys import LEGACY_TOKEN_KEY_FILE, load_or_create_keys
    from homeserver.handlers.passwords import Passwords
    from homeserver.handlers.tokens import TokenService
    from homeserver.storage import Storage

    config.data_dir.mkdir(parents=True, exist_ok=True)
    keys = await asyncio.to_thread(
        load_or_create_keys, config.signing_key_path, config.data_dir / LEGACY_TOKEN_KEY_FILE
    )
    storage = await Storage.open(config.effective_database_url)
    try:
        tokens = TokenService(storage, keys, config.base_url, config.access_token_lifetime_seconds)
        passwords = Passwords(config.argon2_time_cost, config.argon2_memory_kib)
        accounts = Accounts(
            storage, passwords, tokens, config.server_name, config.password_min_length
        )
        accounts.check_password_strength(password)
        return await accounts.register(localpart, password, is_admin=admin)
    finally:
        await storage.close()


def _port_db(config: Config, sqlite: str | None, postgres: str) -> None:
    from homeserver.storage.port import PortError, port_database

    source = Path(sqlite).resolve() if sqlite else config.data_dir / "homeserver.db"
    print(f"porting {source} to PostgreSQL", flush=True)

    def progress(table: str, rows: int) -> None:
        print(f"  {table}: {rows} rows", flush=True)

    try:
        copied = asyncio.run(port_database(source, postgres, progress=progress))
    except PortError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    print(
        f"done: {sum(copied.values())} rows in {len(copied)} tables. "
        "Start the server with DATABASE_URL set to the PostgreSQL URL."
    )


async def _purge_media(config: Config, args: argparse.Namespace) -> str:
    """Deletes media rows and files; runs beside a running server. Returns
    what it did, for the operator."""
    from homeserver.handlers.media.files import MediaFiles, media_root
    from homeserver.handlers.media.purge import MediaPurge
    from homeserver.storage import Storage
    from homeserver.util import now_ms

    storage = await Storage.open(config.effective_database_url, migrate=False)
    try:
        purge = MediaPurge(
            storage.media, MediaFiles(media_root(config.data_dir)), config.server_name
        )
        if args.user is not None:
            return f"purged {await purge.of_user(args.user)} media"
        if args.deactivated:
            return f"purged {await purge.of_deactivated_users()} media"
        if args.remote_older_than is not None:
            before = now_ms() - int(args.remote_older_than * 86_400_000)
            count, thumbnails = await purge.remote_fetched_before(before)
            return f"purged {count} cached remote media and {thumbnails} remote thumbnails"
        assert args.older_than is not None
        before = now_ms() - int(args.older_than * 86_400_000)
        return f"purged {await purge.unreferenced_before(before)} media"
    finally:
        await storage.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="homeserver", description=__doc__)
    parser.add_argument("--data-dir", help="data directory (default: $DATA_DIR or ./data)")
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="start the server")
    run_parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="start N worker processes on consecutive ports from PORT (a cluster: "
        "needs REDIS_URL, PostgreSQL and PUBLIC_BASEURL)",
    )
    commands.add_parser("migrate", help="apply database migrations and exit")
    commands.add_parser("generate-config", help=f"write {CONFIG_FILE_NAME} if missing and exit")
    port = commands.add_parser(
        "port-db", help="copy this installation's SQLite database into an empty PostgreSQL one"
    )
    port.add_argument(
        "--sqlite", help="the SQLite database file (default: homeserver.db in the data directory)"
    )
    port.add_argument(
        "--postgres", required=True, help="target URL, e.g. postgresql://user@host/homeserver"
    )
    create = commands.add_parser("create-user", help="create an account")
    create.add_argument("username")
    create.add_argument("--password", help="(prompted for when omitted)")
    create.add_argument("--admin", action="store_true")
    purge = commands.add_parser(
        "purge-media",
        help="delete unreferenced media older than DAYS, all media of a user or of"
        " deactivated accounts, or cached remote media",
        description=(
            "--older-than: media no stored event nor avatar refers to (media named only "
            "in encrypted messages cannot be seen, and are deleted too; media of redacted "
            "events are no longer referred to)."
        ),
    )
    which = purge.add_mutually_exclusive_group(required=True)
    which.add_argument("--older-than", type=float, metavar="DAYS")
    which.add_argument("--user", metavar="USER_ID", help="e.g. @alice:example.org")
    which.add_argument(
        "--deactivated",
        action="store_true",
        help="all media of deactivated (and erased) accounts",
    )
    which.add_argument(
        "--remote-older-than",
        type=float,
        metavar="DAYS",
        help="other servers' media cached here more than DAYS ago (fetched again when asked)",
    )
    args = parser.parse_args(argv)

    try:
        config = _config(args)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        sys.exit(2)
    if args.command == "run":
        if args.workers != 1:
            sys.exit(run_workers(config, args.workers, args.data_dir))
        try:
            run(config)
        except ConfigError as exc:
            print(f"configuration error: {exc}", file=sys.stderr)
            sys.exit(2)
    elif args.command == "migrate":
        configure_logging(config.log_level, config.log_format)
        asyncio.run(_migrate(config))
        print("database is up to date")
    elif args.command == "port-db":
        configure_logging("WARNING", config.log_format)
        _port_db(config, args.sqlite, args.postgres)
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
    elif args.command == "purge-media":
        configure_logging("WARNING")
        for days in (args.older_than, args.remote_older_than):
            if days is not None and days < 0:
                print("error: the number of days must not be negative", file=sys.stderr)
                sys.exit(2)
        print(asyncio.run(_purge_media(config, args)))
