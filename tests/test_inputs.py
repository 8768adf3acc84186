"""One set of rules for reading customer ids and identifiers from iterables, Series, frames and
files."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from capnb.errors import ValidationError
from capnb.fetch.inputs import read_customer_ids, read_identifiers, read_values


def test_ids_and_identifiers_share_the_file_rules(tmp_path):
    csv = tmp_path / "people.csv"
    csv.write_text("customer_id,mobile\n007,+91 0012\n8,\n")
    assert read_values(csv, ("customer_id",)) == ["007", "8"]  # CSV cells stay text
    assert read_identifiers(csv, "mobile") == ["+91 0012", ""]
    parquet = tmp_path / "people.parquet"
    pd.DataFrame({"customer_id": [7, 8], "identifier": ["a", None]}).to_parquet(parquet)
    assert read_customer_ids(parquet)[0] == [7, 8]
    assert read_identifiers(parquet, "email") == ["a", None]  # 'identifier' before 'customer_id'
    sheet = tmp_path / "people.xlsx"
    sheet.write_bytes(b"PK")
    for read in (read_customer_ids, lambda path: read_identifiers(path, "mobile")):
        with pytest.raises(ValidationError, match="expected a .csv or .parquet file"):
            read(sheet)
        with pytest.raises(ValidationError, match="no file at"):
            read(tmp_path / "missing.csv")


def test_missing_columns_name_what_is_accepted(tmp_path):
    frame = pd.DataFrame({"phone": ["1"]})
    with pytest.raises(ValidationError, match=r"the DataFrame has no 'customer_id' column "
                                              r"\(columns: phone\)"):
        read_customer_ids(frame)
    with pytest.raises(ValidationError, match="no 'mobile' or 'identifier' or 'customer_id'"):
        read_identifiers(frame, "mobile")
    path = tmp_path / "ids.csv"
    path.write_text("id\n1\n")
    with pytest.raises(ValidationError, match="ids.csv has no 'customer_id' column"):
        read_customer_ids(path)


def test_values_of_iterables_and_series():
    assert read_values([np.int64(5), "6", None], ("customer_id",)) == [5, "6", None]
    assert read_identifiers([np.int64(911234567890)], "mobile") == [911234567890]
    assert read_values(pd.Series([1, None], dtype="Int64"), ("x",)) == [1, None]
    assert read_values(pd.Series([3, 4]), ("x",)) == [3, 4]
    for bad in (5, b"12", {"customer_id": 1}):
        with pytest.raises(ValidationError, match="must be an iterable of ids"):
            read_customer_ids(bad)
    with pytest.raises(ValidationError, match="must be an iterable of identifiers"):
        read_identifiers(5, "mobile")


def test_customer_ids_are_validated_and_deduplicated():
    ids, invalid = read_customer_ids([3, "4", 3, "x", -1, 2**63])
    assert ids == [3, 4]
    assert invalid["status"].eq("invalid").all()
    assert [m.split(":")[0] for m in invalid["error_message"]] == ["row 3", "row 4", "row 5"]


def test_a_csv_with_trailing_commas_keeps_its_ids_in_their_column(tmp_path, caplog):
    path = tmp_path / "ids.csv"
    path.write_text("customer_id,segment\n7,a,\n8,b,\n9,,\n")  # Excel's trailing commas
    with caplog.at_level(logging.WARNING, logger="capnb"):
        assert read_customer_ids(path)[0] == [7, 8, 9]
        assert read_values(path, ("segment",)) == ["a", "b", ""]
    assert not caplog.records  # nothing was lost: nothing to say
    single = tmp_path / "one.csv"
    single.write_text("customer_id\n7,\n8,\n")
    assert read_customer_ids(single)[0] == [7, 8]


def test_a_csv_with_extra_fields_says_what_it_ignored(tmp_path, caplog):
    path = tmp_path / "ids.csv"
    path.write_text("customer_id,segment\n7,a,x\n8,b,\n")
    with caplog.at_level(logging.WARNING, logger="capnb"):
        ids, invalid = read_customer_ids(path)
    assert ids == [7, 8] and invalid.empty
    assert any("1 row" in r.getMessage() and "more fields than its header" in r.getMessage()
               for r in caplog.records)


def test_float_ids_of_a_parquet_file_are_read_as_the_file_means_them(tmp_path, caplog):
    path = tmp_path / "ids.parquet"
    pd.DataFrame({"customer_id": [7.0, 8.0, None, 9.5, 7.0, 2.0**60, -3.0]}).to_parquet(path)
    with caplog.at_level(logging.WARNING, logger="capnb"):
        ids, invalid = read_customer_ids(path)
    assert ids == [7, 8]  # integral floats are ids (a column with a gap is float in pandas)
    messages = invalid["error_message"].tolist()
    assert [m.split(":")[0] for m in messages] == ["row 2", "row 3", "row 5", "row 6"]
    assert "whole number" in messages[1] and "9.5" in messages[1]
    assert "exactly" in messages[2]
    said = [r.getMessage() for r in caplog.records]
    assert any("4 of 7" in m and "invalid" in m for m in said), said
    frame_ids, _ = read_customer_ids(pd.DataFrame({"customer_id": [1.0, 2.0, np.nan]}))
    assert frame_ids == [1, 2]
    assert read_customer_ids([np.float32(3.0), 4.0])[0] == [3, 4]


def test_whole_decimal_text_in_a_csv_is_an_id(tmp_path):
    """A spreadsheet's float column exported as text: ``12.0`` is customer 12; ``12.5``,
    ``1e3`` and non-ASCII digits stay invalid, each with its row."""
    path = tmp_path / "ids.csv"
    path.write_text("customer_id\n12.0\n13\n 14.00 \n1e3\n12.5\n\u0661\u0662.0\n12\n")
    ids, invalid = read_customer_ids(path)
    assert ids == [12, 13, 14]
    assert [m.split(":")[0] for m in invalid["error_message"]] == ["row 3", "row 4", "row 5"]

