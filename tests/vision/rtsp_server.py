"""A real RTSP camera on loopback for the capture tests, served by GStreamer's RTSP server.

Run by Debian's Python (``/usr/bin/python3``, which has GStreamer's bindings; the project's venv
does not), as a child of the test:

    python3 rtsp_server.py PORT [--user NAME --password SECRET]

Mounts: ``/cam`` an H.264 test pattern (what cameras send), ``/j2k`` the same pattern in JPEG
2000, which the capture cannot decode. It prints ``ready PORT`` once it listens, then reads
commands on stdin, one a line, and answers each with ``ok COMMAND``:

- ``stall``: every mount stops sending frames, the connections stay open;
- ``resume``: frames flow again;
- ``quit`` (or stdin closing): the server exits.

It imports nothing from mailwarden: it is the camera, not the code under test.
"""

from __future__ import annotations

import argparse
import sys
import threading

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

PATTERN = (
    "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=15/1"
    " ! valve name=valve drop=false ! videoconvert"
)
MOUNTS = {
    # A keyframe every 15 frames, so a client that (re)joins decodes within a second.
    "/cam": f"( {PATTERN} ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15"
    " ! rtph264pay name=pay0 pt=96 config-interval=1 )",
    "/j2k": f"( {PATTERN} ! video/x-raw,format=I420 ! openjpegenc ! rtpj2kpay name=pay0 pt=96 )",
}


class Camera:
    def __init__(self, port: int, user: str | None, password: str | None) -> None:
        self.server = GstRtspServer.RTSPServer()
        self.server.set_address("127.0.0.1")
        self.server.set_service(str(port))
        # A thread per client: with the default of one, a client whose PLAY waits on a stalled
        # pipeline would keep every other client (and the probe) from an answer.
        self.server.get_thread_pool().set_max_threads(64)
        self.valves: list[Gst.Element] = []
        self.stalled = False
        self.lock = threading.Lock()
        mounts = self.server.get_mount_points()
        for path, launch in MOUNTS.items():
            factory = GstRtspServer.RTSPMediaFactory()
            factory.set_launch(launch)
            # One pipeline per client: a shared one cannot be prepared again once a client that
            # only asked DESCRIBE (the probe) has left.
            factory.set_shared(False)
            factory.connect("media-configure", self._configure)
            if user is not None:
                permissions = GstRtspServer.RTSPPermissions()
                permissions.add_permission_for_role("viewer", "media.factory.access", True)
                permissions.add_permission_for_role("viewer", "media.factory.construct", True)
                factory.set_permissions(permissions)
            mounts.add_factory(path, factory)
        if user is not None:
            auth = GstRtspServer.RTSPAuth()
            token = GstRtspServer.RTSPToken()
            token.set_string("media.factory.role", "viewer")
            basic = GstRtspServer.RTSPAuth.make_basic(user, password or "")
            auth.add_basic(basic, token)
            self.server.set_auth(auth)

    def _configure(self, factory: GstRtspServer.RTSPMediaFactory, media: object) -> None:
        pipeline = media.get_element()  # type: ignore[attr-defined]
        valve = pipeline.get_by_name("valve")
        with self.lock:
            self.valves.append(valve)
        # A stalled camera still answers DESCRIBE and SETUP, and sends nothing after PLAY. The
        # description needs the first encoded frame, so a stream set up during a stall lets
        # frames through until its payloader has caps (before PLAY: the client gets none).
        payloader = pipeline.get_by_name("pay0").get_static_pad("src")
        payloader.connect("notify::caps", lambda *_: self._follow(valve))

    def _follow(self, valve: Gst.Element) -> None:
        with self.lock:
            valve.set_property("drop", self.stalled)

    def set_stalled(self, stalled: bool) -> None:
        with self.lock:
            self.stalled = stalled
            for valve in self.valves:
                valve.set_property("drop", stalled)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--user")
    parser.add_argument("--password")
    args = parser.parse_args()
    Gst.init(None)
    camera = Camera(args.port, args.user, args.password)
    loop = GLib.MainLoop()
    if camera.server.attach(None) == 0:
        print(f"cannot listen on port {args.port}", file=sys.stderr, flush=True)
        sys.exit(1)
    print(f"ready {camera.server.get_bound_port()}", flush=True)

    def commands() -> None:
        for line in sys.stdin:
            command = line.strip()
            if command in ("stall", "resume"):
                camera.set_stalled(command == "stall")
            elif command == "quit":
                break
            print(f"ok {command}", flush=True)
        GLib.idle_add(loop.quit)

    threading.Thread(target=commands, daemon=True).start()
    loop.run()


if __name__ == "__main__":
    main()
