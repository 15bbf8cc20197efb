"""Fetch the held-out documents from pinned Debian packages into a folder.

    python bench/data/heldout/fetch.py [TARGET]     # default /tmp/heldout-docs

Downloads each package at its pinned version (`apt-get download PKG=VERSION`, or, where apt is
missing or no longer lists that version, the same file from deb.debian.org's pool and then
snapshot.debian.org), checks the package's sha256, unpacks it with `dpkg-deb -x`, checks the
sha256 of every document used and copies it into TARGET under the name the QA set cites. The
documents are third-party files under their own licences (SOURCES.md) and are never committed.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

DEFAULT_TARGET = Path("/tmp/heldout-docs")
DOC = "usr/share/doc/texlive-doc"


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    pool: str  # the file's path under a Debian mirror's root
    sha256: str


@dataclass(frozen=True)
class Document:
    name: str  # as the QA set cites it
    package: str
    path: str  # inside the package
    sha256: str


PACKAGES = (
    Package(
        "texlive-lang-chinese",
        "2022.20230122-1",
        "pool/main/t/texlive-lang/texlive-lang-chinese_2022.20230122-1_all.deb",
        "9cfa07bd44e7b9098e26f0ecac1b5ad210d2249d474c8074d53de92d650b0ec0",
    ),
    Package(
        "texlive-latex-base-doc",
        "2022.20230122-3",
        "pool/main/t/texlive-base/texlive-latex-base-doc_2022.20230122-3_all.deb",
        "122dbbe00bd22f872b1837eb86bd76fbac6ec84dd4f5f0c76cc9c18484485848",
    ),
)

DOCUMENTS = (
    Document(
        "zh-ctex-faq.pdf",
        "texlive-lang-chinese",
        f"{DOC}/latex/ctex-faq/ctex-faq.pdf",
        "99a72a3158ced551d516d926fa27c69606a1b02366aeaa79d376a8d60fae3fb2",
    ),
    Document(
        "zh-asymptote-faq.pdf",
        "texlive-lang-chinese",
        f"{DOC}/support/asymptote-faq-zh-cn/asymptote-faq-zh-cn.pdf",
        "4e73c77b7d298930de121ce9e7dabcc2fc07d7140fac7d4d98e620f1d80920e2",
    ),
    Document(
        "zh-zhlineskip.pdf",
        "texlive-lang-chinese",
        f"{DOC}/latex/zhlineskip/zhlineskip.pdf",
        "c2ebbb8aae04bc08a27d5663cf3ce7f0e5af1c38c379fdd482706ddf422735e4",
    ),
    Document(
        "zh-qyxf-book-readme.md",
        "texlive-lang-chinese",
        f"{DOC}/latex/qyxf-book/README.zh.md",
        "336324e8278f0123b5e1d6cbe127c457d2772ca0bece4378cdc97fb4760fae09",
    ),
    Document(
        "en-fduthesis-guide.pdf",
        "texlive-lang-chinese",
        f"{DOC}/latex/fduthesis/fduthesis-en.pdf",
        "d97d5be4149275ec823b17a3887dd3f53dfaab3c316483103b48beffcad640e2",
    ),
    Document(
        "en-zhlipsum-guide.pdf",
        "texlive-lang-chinese",
        f"{DOC}/latex/zhlipsum/zhlipsum-en.pdf",
        "a17352352e17780eef41e07ac45e36cbbeed08850adb3e12dc15bf464fc48572",
    ),
    Document(
        "en-xpinyin-readme.md",
        "texlive-lang-chinese",
        f"{DOC}/latex/xpinyin/README.md",
        "98f5790d6ec15c09002d3f7f6c4716c4b7b100f77306bbc7ca7530bbf6b9ec86",
    ),
    Document(
        "en-amsmath-users-guide.pdf",
        "texlive-latex-base-doc",
        f"{DOC}/latex/amsmath/amsldoc.pdf",
        "367321308ea999a3dc4cab8655cd534ca48a6c1f3e5b9fae2083bbac23084a83",
    ),
)

MIRRORS = (
    "https://deb.debian.org/debian/",
    # Once bookworm moves on, the pinned versions stay here (any recent timestamp holds them).
    "https://snapshot.debian.org/archive/debian/20240101T000000Z/",
)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(package: Package, folder: Path) -> Path:
    """The package's .deb in folder, its sha256 checked."""
    deb = folder / Path(package.pool).name
    if shutil.which("apt-get"):
        subprocess.run(
            ["apt-get", "download", f"{package.name}={package.version}"],
            cwd=folder,
            check=False,
            stdout=subprocess.DEVNULL,
        )
    for mirror in MIRRORS:
        if deb.is_file():
            break
        print(f"fetching {mirror}{package.pool}", file=sys.stderr)
        try:
            urllib.request.urlretrieve(mirror + package.pool, deb)
        except OSError as exc:
            print(f"  failed: {exc}", file=sys.stderr)
            deb.unlink(missing_ok=True)
    if not deb.is_file():
        sys.exit(f"could not download {package.name}={package.version}")
    if sha256_of(deb) != package.sha256:
        sys.exit(f"{deb.name}: sha256 {sha256_of(deb)}, want {package.sha256}")
    return deb


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", type=Path, nargs="?", default=DEFAULT_TARGET)
    args = parser.parse_args()
    if not shutil.which("dpkg-deb"):
        sys.exit("dpkg-deb is needed to unpack the packages")
    args.target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="heldout-") as scratch:
        work = Path(scratch)
        for package in PACKAGES:
            deb = download(package, work)
            subprocess.run(["dpkg-deb", "-x", str(deb), str(work / package.name)], check=True)
        for document in DOCUMENTS:
            source = work / document.package / document.path
            got = sha256_of(source)
            if got != document.sha256:
                sys.exit(f"{document.path}: sha256 {got}, want {document.sha256}")
            shutil.copyfile(source, args.target / document.name)
            print(f"{document.name}  {got}")
    print(f"{len(DOCUMENTS)} documents in {args.target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
