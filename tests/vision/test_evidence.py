"""Evidence clips that browsers play: H.264 (4:2:0, index at the front) in MP4, or VP8 in WebM,
holding the pre-roll, the event's frame and the post-roll, in order."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from mailwarden.vision import config
from mailwarden.vision.evidence import Recorder, write_clip
from mailwarden.vision.rules import Event


def numbered(index: int, size: tuple[int, int] = (160, 90)) -> np.ndarray:
    """A frame whose brightness says which one it is, with some texture for the encoder."""
    w, h = size
    image = np.full((h, w, 3), 8 * index, np.uint8)
    cv2.putText(image, str(index), (5, h - 10), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (255, 255, 255))
    return image


def decoded(path: Path) -> tuple[str, str, list[np.ndarray]]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        codec, pix_fmt = stream.codec_context.name, str(stream.codec_context.pix_fmt)
        frames = [f.to_ndarray(format="bgr24") for f in container.decode(stream)]
    return codec, pix_fmt, frames


def record_at_frame_15(tmp_path: Path, fmt: str) -> Path:
    cfg = config.Evidence(pre_roll_s=0.95, post_roll_s=1.0, clip_format=fmt)  # type: ignore[arg-type]
    recorder = Recorder(tmp_path, cfg, fps=10.0)
    event = Event("presence", "hall", 15, 1.5, 1, (10, 10, 60, 80))
    paths: dict[str, str] = {}
    for i in range(30):
        image = numbered(i)
        recorder.push(i / 10, image)
        if i == 15:
            paths = recorder.record(event, image)
    recorder.finish()
    assert recorder.written == [Path(paths["clip"])]
    snapshot = cv2.imread(paths["snapshot"])
    assert snapshot is not None and snapshot.shape == (90, 160, 3)
    return Path(paths["clip"])


def test_an_mp4_clip_is_h264_that_browsers_play(tmp_path: Path) -> None:
    clip = record_at_frame_15(tmp_path, "mp4")
    assert clip.suffix == ".mp4"
    codec, pix_fmt, frames = decoded(clip)
    assert (codec, pix_fmt) == ("h264", "yuv420p")
    # Pre-roll: the frames of the 0.95 s before (6 to 14), the event's, and 1 s after (16 to 25).
    assert len(frames) == 20
    brightness = [int(np.median(f)) for f in frames]
    assert brightness == pytest.approx([8 * i for i in range(6, 26)], abs=4)
    # The index (moov) before the pictures (mdat): playback starts while the file downloads.
    raw = clip.read_bytes()
    assert 0 < raw.index(b"moov") < raw.index(b"mdat")


def test_a_webm_clip_is_vp8(tmp_path: Path) -> None:
    clip = record_at_frame_15(tmp_path, "webm")
    codec, pix_fmt, frames = decoded(clip)
    assert clip.suffix == ".webm" and codec == "vp8" and pix_fmt == "yuv420p"
    assert len(frames) == 20
    assert int(np.median(frames[0])) == pytest.approx(48, abs=4)


def test_odd_sizes_and_grey_frames_are_written(tmp_path: Path) -> None:
    # 4:2:0 needs even sides: the odd last row and column are left out.
    grey = [np.full((91, 161), 20 * i, np.uint8) for i in range(5)]
    path = tmp_path / "grey.mp4"
    write_clip(path, grey, 12.5, "mp4")
    codec, _, frames = decoded(path)
    assert codec == "h264" and len(frames) == 5
    assert frames[0].shape == (90, 160, 3)
    assert [int(np.median(f)) for f in frames] == pytest.approx([0, 20, 40, 60, 80], abs=4)
    with av.open(str(path)) as container:
        assert container.streams.video[0].average_rate == 12.5
