"""The service image, built from the Dockerfile with buildah and run: /health and /predict.

Runs only with ``CRYOPROTECT_TEST_IMAGE=1`` (the ci-cd workflow's image-buildah job sets it):
it takes minutes (6 minutes from nothing on a busy 2-core machine: about 2 for the local
Debian base, 3 for the image, most of it pip and vfs layer copies, then the run) and about
2 GB of disk while it runs.
It needs root, ``buildah`` and ``debootstrap`` (``apt-get install buildah debootstrap``),
network access to deb.debian.org and PyPI, and the trained models in ``models/``
(``python3 scripts/quickstart.py run``). ``scripts/build-image.sh`` does the work; the image,
its local base and their containers are removed afterwards unless
``CRYOPROTECT_TEST_IMAGE_KEEP=1``.
"""

from __future__ import annotations

import os
import re

import pytest
from cicd_support import REPO, require_tool, run

SCRIPT = REPO / "scripts" / "build-image.sh"
ENABLED = os.environ.get("CRYOPROTECT_TEST_IMAGE") == "1"

pytestmark = [
    pytest.mark.image,
    pytest.mark.skipif(not ENABLED, reason="builds an image for minutes: CRYOPROTECT_TEST_IMAGE=1"),
]


@pytest.fixture(scope="module")
def image_env(tmp_path_factory) -> dict[str, str]:
    if os.geteuid() != 0:
        pytest.fail("building the image needs root (buildah chroot isolation, debootstrap)")
    require_tool("buildah", "apt-get install buildah")
    require_tool("debootstrap", "apt-get install debootstrap")
    for target in ("tg", "iri", "viability"):
        if not list((REPO / "models" / target).glob("*/model.json")):
            pytest.fail(f"models/{target} has no trained version: run quickstart.py run first")
    env = os.environ | {
        "IMAGE": "localhost/cryoprotect:test",
        "WORK_DIR": str(tmp_path_factory.mktemp("image")),
        "PORT": os.environ.get("CRYOPROTECT_TEST_IMAGE_PORT", "18000"),
    }
    yield env
    if os.environ.get("CRYOPROTECT_TEST_IMAGE_KEEP") != "1":
        run(["bash", str(SCRIPT), "clean"], env=env, timeout=600)


def test_image_builds_runs_and_predicts(image_env):
    built = run(["bash", str(SCRIPT), "build"], env=image_env, timeout=3600)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-5000:]
    size = re.search(r"^image size: \S+ (.+)$", built.stdout, re.M)
    assert size, built.stdout[-2000:]
    print(f"\n{image_env['IMAGE']}: {size[1]}")

    smoke = run(["bash", str(SCRIPT), "smoke"], env=image_env, timeout=900)
    assert smoke.returncode == 0, smoke.stdout[-3000:] + smoke.stderr[-5000:]
    assert re.search(r"^GET /health: 200 ", smoke.stdout, re.M), smoke.stdout
    assert re.search(r"^POST /predict: Tg of glycerol \d", smoke.stdout, re.M), smoke.stdout
    print(smoke.stdout)
