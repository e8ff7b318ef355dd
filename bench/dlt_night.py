"""The reference of bench/night.ts: dlt's scd2 merge into SQLite, night by night, on the same files.

    dlt_night.py CONTRACTS_JSON EXPORTS_DIR DB_FILE PIPELINES_DIR

CONTRACTS_JSON is written by bench/night.ts from the TypeScript contracts (contracts/), so the
rules checked here are the warehouse's: the dialect (Windows-1252, ';', decimal comma,
dd/mm/yyyy), the exact header, and per column required, text length, enum values, whole
numbers and their bounds, decimals (at most `scale` decimals, minimum), real calendar dates,
then duplicate keys. As in validate (reject tolerance 0), one bad row rejects the file.

Protocol: one line of JSON per night on stdin, {"date": "YYYY-MM-DD"}; one line of JSON per
night on stdout, with the seconds spent checking the files and in dlt's pipeline.run. Full
tables load with the scd2 strategy (a key absent from the snapshot is retired); delta tables
with scd2 and merge_key set to the table's key (absent keys are left alone). The business date
is the boundary timestamp, as our _valid_from / _valid_to are.
"""

import csv
import datetime
import json
import re
import sys
import time
from decimal import Decimal

started = time.perf_counter()
import dlt  # noqa: E402  (its import time is reported, not counted in a night)

import_seconds = time.perf_counter() - started

INTEGER = re.compile(r"^-?\d+$")
DECIMAL = re.compile(r"^(-?)(\d+)(?:,(\d+))?$")
DATE = re.compile(r"^(\d{2})/(\d{2})/(\d{4})$")
MAX_SAFE = 2**53 - 1


class FileRejected(Exception):
    """A file that breaks its contract: names table, date, file, line, column, value and rule."""


def reader_for(column):
    """The function reading one trimmed, non-empty field of a column; returns (value, None) or (None, rule)."""
    kind = column["type"]["kind"]
    t = column["type"]
    if kind == "text":
        return lambda s: (s, None) if len(s) <= t["maxLength"] else (None, f"longer than {t['maxLength']} characters")
    if kind == "enum":
        values = frozenset(t["values"])
        return lambda s: (s, None) if s in values else (None, f"not one of {', '.join(t['values'])}")
    if kind == "date":
        def read_date(s):
            m = DATE.match(s)
            if not m:
                return None, "date must be dd/mm/yyyy"
            try:
                return datetime.date(int(m[3]), int(m[2]), int(m[1])), None
            except ValueError:
                return None, "no such calendar date"
        return read_date
    if kind == "integer":
        def read_integer(s):
            if not INTEGER.match(s):
                return None, "not a whole number"
            v = int(s)
            if abs(v) > MAX_SAFE:
                return None, "number out of range"
            if "min" in t and v < t["min"]:
                return None, f"must be at least {t['min']}"
            if "max" in t and v > t["max"]:
                return None, f"must be at most {t['max']}"
            return v, None
        return read_integer
    if kind == "decimal":
        scale = t["scale"]
        def read_decimal(s):
            m = DECIMAL.match(s)
            if not m:
                return None, "not a decimal number (expected e.g. 1234,50)"
            fraction = m[3] or ""
            if len(fraction) > scale:
                return None, f"at most {scale} decimals"
            v = float(Decimal(f"{m[1]}{m[2]}.{fraction or '0'}"))
            if "min" in t and v < t["min"]:
                return None, "must not be negative" if t["min"] == 0 else f"must be at least {t['min']}"
            return (0.0 if v == 0 else v), None
        return read_decimal
    raise ValueError(f"unknown column kind {kind}")


def dlt_columns(contract):
    """dlt column hints with the warehouse's types: TEXT (with its length), INTEGER, REAL, date."""
    types = {"text": "text", "enum": "text", "integer": "bigint", "decimal": "double", "date": "date"}
    hints = {}
    for c in contract["columns"]:
        hint = {"data_type": types[c["type"]["kind"]], "nullable": not c["required"]}
        if c["type"]["kind"] == "text":
            hint["precision"] = c["type"]["maxLength"]
        hints[c["name"]] = hint
    return hints


def read_file(contract, dialect, path, file_name, date):
    """Every row of one export, typed, or FileRejected at the first broken rule."""
    columns = contract["columns"]
    readers = [(c, reader_for(c)) for c in columns]
    key_positions = [next(i for i, c in enumerate(columns) if c["name"] == k) for k in contract["key"]]
    where = f"{contract['table']} {date} {file_name}"
    rows, seen = [], set()
    with open(path, encoding="cp1252" if dialect["encoding"] == "windows-1252" else "utf-8-sig", newline="") as f:
        records = csv.reader(f, delimiter=dialect["delimiter"], quotechar=dialect["quote"], strict=True)
        header = next(records, None)
        expected = [c["source"] for c in columns]
        if header != expected:
            raise FileRejected(f"{where} line 1: header {header} is not {expected}")
        for line, record in enumerate(records, start=2):
            if len(record) != len(columns):
                raise FileRejected(f"{where} line {line}: {len(record)} fields, expected {len(columns)}")
            row = {}
            for (column, read), raw in zip(readers, record):
                text = raw.strip()
                if text == "":
                    if column["required"]:
                        raise FileRejected(f"{where} line {line} column {column['source']}: required value is empty")
                    row[column["name"]] = None
                    continue
                value, rule = read(text)
                if rule is not None:
                    raise FileRejected(f"{where} line {line} column {column['source']} value {text[:200]!r}: {rule}")
                row[column["name"]] = value
            key = tuple(record[i].strip() for i in key_positions)
            if key in seen:
                raise FileRejected(f"{where} line {line}: duplicate key {key}")
            seen.add(key)
            rows.append(row)
    return rows


def resource_for(contract, rows, date):
    """One night of one table as a dlt resource: scd2, incremental (merge_key) for delta tables."""
    disposition = {"disposition": "merge", "strategy": "scd2", "boundary_timestamp": f"{date}T00:00:00+00:00"}
    options = {"merge_key": contract["key"]} if contract["mode"] == "delta" else {}
    return dlt.resource(rows, name=contract["table"], write_disposition=disposition, columns=dlt_columns(contract), **options)


def main():
    contracts_json, exports_dir, db_file, pipelines_dir = sys.argv[1:5]
    with open(contracts_json, encoding="utf-8") as f:
        spec = json.load(f)
    dialect, contracts = spec["dialect"], spec["tables"]
    pipeline = dlt.pipeline(
        pipeline_name="sodimo_night",
        pipelines_dir=pipelines_dir,
        destination=dlt.destinations.sqlalchemy(f"sqlite:///{db_file}"),
        dataset_name="main",
        progress=None,
    )
    print(json.dumps({"ready": True, "dlt": dlt.__version__, "importSeconds": import_seconds}), flush=True)
    for line in sys.stdin:
        date = json.loads(line)["date"]
        night_started = time.perf_counter()
        resources, rows_by_table = [], {}
        for contract in contracts:
            file_name = contract["filePattern"].replace("{yyyymmdd}", date.replace("-", ""))
            rows = read_file(contract, dialect, f"{exports_dir}/{file_name}", file_name, date)
            rows_by_table[contract["table"]] = len(rows)
            resources.append(resource_for(contract, rows, date))
        checked = time.perf_counter()
        pipeline.run(resources)
        done = time.perf_counter()
        print(json.dumps({"date": date, "seconds": done - night_started, "checkSeconds": checked - night_started, "runSeconds": done - checked, "rows": rows_by_table}), flush=True)
    # After the last night: current (not retired) rows per table, to compare with the warehouse's <t>_current.
    # dlt creates no table for a resource that never had a row (payments on a quiet first day).
    current = {}
    tables = pipeline.default_schema.data_table_names()
    with pipeline.sql_client() as client:
        for contract in contracts:
            table = client.make_qualified_table_name(contract["table"])
            current[contract["table"]] = client.execute_sql(f"SELECT COUNT(*) FROM {table} WHERE _dlt_valid_to IS NULL")[0][0] if contract["table"] in tables else 0
    print(json.dumps({"current": current}), flush=True)


if __name__ == "__main__":
    try:
        main()
    except FileRejected as error:
        print(json.dumps({"rejected": str(error)}), flush=True)
        sys.exit(2)
