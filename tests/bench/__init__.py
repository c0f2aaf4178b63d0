"""`make bench`: this homeserver and Synapse measured side by side on one machine.

Run with `python -m tests.bench` (see `--help`). Everything talks to 127.0.0.1
only, and every workload is bounded in count and time. The modules:

- `stats`: percentiles and summaries (unit-tested in `test_stats.py`);
- `procstat`, `postgres`: CPU, memory and database facts read from the system;
- `servers`, `synapse_config`: starting and stopping the servers under test;
- `matrix`, `stream`: the client side (HTTP via httpx, the WebSocket stream);
- `workers`, `tasks`: client processes and what runs inside them;
- `population`, `workloads`: building each server's rooms, then measuring;
- `profiles`, `report`, `runner`: counts, the table and JSON, the order of runs.
"""
