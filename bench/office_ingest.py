"""Parsing speed of the new formats on realistic files made on the spot: a 40-slide bilingual
deck (bullets, speaker notes, a table every tenth slide), a workbook of an orders sheet (5,000
rows of 10 columns) and a customers sheet (800 rows of 8), and that orders sheet as CSV. Each
is read by its loader and split into chunks in e5's word pieces, as a parse process does;
prints one JSON line per file: bytes, pages, sections, chunks, seconds to load and to split,
and cells or slides per second. Embedding is the same for every format (bench/ingest.py).

    python -m bench.office_ingest [--repeat 3]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import time
from collections.abc import Callable

import openpyxl
import pptx
from pptx.util import Inches

from core.embedding import open_embedder
from core.settings import Settings
from ingest.loaders import LOADERS
from ingest.sniff import sniff_media_type
from ingest.split import Splitter

REGIONS = ["华东", "华南", "华北", "西南", "East China", "North America", "Europe"]
PRODUCTS = ["智能水表", "光纤收发器", "Solar Charge Controller", "Titanium Hinge Bracket"]


def deck(slides: int = 40) -> bytes:
    presentation = pptx.Presentation()
    for n in range(1, slides + 1):
        if n % 10 == 0:
            slide = presentation.slides.add_slide(presentation.slide_layouts[5])
            slide.shapes.title.text = f"第 {n // 10} 季度各区域销售 Sales by region, Q{n // 10}"
            table = slide.shapes.add_table(
                9, 5, Inches(0.5), Inches(1.5), Inches(9), Inches(5)
            ).table
            for c, head in enumerate(("区域 Region", "收入 Revenue", "同比 YoY", "客户", "备注")):
                table.cell(0, c).text = head
            for r in range(1, 9):
                values = (REGIONS[r % 7], f"{r * 1234.5:.1f}", f"{r * 1.7:.1f}%", str(r * 13), "—")
                for c, value in enumerate(values):
                    table.cell(r, c).text = value
            continue
        slide = presentation.slides.add_slide(presentation.slide_layouts[1])
        slide.shapes.title.text = f"议题 {n}: {PRODUCTS[n % 4]} roadmap"
        slide.placeholders[1].text = "\n".join(
            (
                f"{REGIONS[n % 7]}地区的试点在第 {n % 4 + 1} 季度完成，客户满意度 {80 + n % 15}%。",
                f"Unit cost fell to {n * 3.5:.2f} USD after the supplier change"
                f" in month {n % 12 + 1}.",
                "下一步：扩大到三个新城市，并与渠道伙伴签订年度框架协议。",
                "Risks: component lead times, currency swings, and certification delays.",
                f"负责人：项目经理 {n}，预算 {n * 12} 万元。",
            )
        )
        slide.notes_slide.notes_text_frame.text = (
            f"讲者备注：强调 {REGIONS[(n + 3) % 7]} 的增长。Mention the partner programme "
            f"launch on day {n} and the hiring plan for the support team."
        )
    out = io.BytesIO()
    presentation.save(out)
    return out.getvalue()


def order_rows(rows: int = 5000) -> list[list[object]]:
    header: list[object] = [
        "订单号",
        "日期",
        "客户",
        "区域",
        "产品",
        "数量",
        "单价",
        "金额",
        "状态",
        "Sales rep",
    ]
    body: list[list[object]] = [
        [
            f"SO-{n:06d}",
            f"2024-{n % 12 + 1:02d}-{n % 28 + 1:02d}",
            f"客户 {n % 800}",
            REGIONS[n % 7],
            PRODUCTS[n % 4],
            n % 50 + 1,
            round(99.5 + n % 300, 2),
            round((n % 50 + 1) * (99.5 + n % 300), 2),
            ("已发货", "待付款", "Closed", "Cancelled")[n % 4],
            f"Rep {n % 37}",
        ]
        for n in range(1, rows + 1)
    ]
    return [header, *body]


def workbook() -> bytes:
    book = openpyxl.Workbook(write_only=True)
    orders = book.create_sheet("Orders 订单")
    for row in order_rows():
        orders.append(row)
    customers = book.create_sheet("Customers 客户")
    customers.append(["客户", "城市", "行业", "Contact", "Email", "Phone", "Since", "Tier"])
    for n in range(800):
        customers.append(
            [
                f"客户 {n}",
                ("杭州", "成都", "Shenzhen", "Berlin")[n % 4],
                ("制造", "医疗", "Retail")[n % 3],
                f"Contact {n}",
                f"c{n}@example.com",
                f"+86 571 {n:07d}",
                2010 + n % 15,
                "ABC"[n % 3],
            ]
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def orders_csv() -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(order_rows())
    return out.getvalue().encode("utf-8")


def measure(name: str, data: bytes, splitter: Splitter, repeat: int) -> dict[str, object]:
    loader = LOADERS.create(sniff_media_type(data, name))
    load_s: list[float] = []
    split_s: list[float] = []
    for _ in range(repeat):
        started = time.perf_counter()
        document = loader.load(data, lambda done, total: None)
        loaded = time.perf_counter()
        chunks = splitter.split(document)
        load_s.append(loaded - started)
        split_s.append(time.perf_counter() - loaded)
    best_load, best_split = min(load_s), min(split_s)
    return {
        "file": name,
        "bytes": len(data),
        "pages": document.pages,
        "sections": len(document.sections),
        "chunks": len(chunks),
        "load_s": round(best_load, 3),
        "split_s": round(best_split, 3),
        "total_s": round(best_load + best_split, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    tokens = open_embedder(Settings())
    settings = Settings()
    splitter = Splitter(
        tokens.count_tokens,
        tokens.token_spans,
        settings.chunk_tokens,
        settings.chunk_overlap_tokens,
        tokens.max_tokens,
    )
    files: list[tuple[str, Callable[[], bytes], int]] = [
        ("deck-40-slides.pptx", deck, 40),
        ("orders-and-customers.xlsx", workbook, 5001 * 10 + 801 * 8),
        ("orders.csv", orders_csv, 5001 * 10),
    ]
    for name, make, units in files:
        result = measure(name, make(), splitter, args.repeat)
        per = "slides_per_s" if name.endswith(".pptx") else "cells_per_s"
        result[per] = round(units / float(str(result["total_s"])), 1)
        print(json.dumps(result, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
