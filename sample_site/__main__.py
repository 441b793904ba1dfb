"""``python -m sample_site --port 8765``: serve the sample site until Ctrl-C."""

from __future__ import annotations

import argparse

from sample_site.server import make_server


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the yuqing sample site (fictional content).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    server, _site = make_server(args.host, args.port)
    print(f"sample site on http://{args.host}:{server.server_address[1]}/ (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
