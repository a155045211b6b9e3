"""The Python client against the real services over mTLS (started by
client_test.sh, which installs the package into a fresh venv first).

test_pipeline reads like a notebook: providers send the sample CSVs as
DataFrames and a synthetic population as CSV files, the TRE links, a
provider withdraws a record, the TRE applies an opt-out list, an analyst
counts a question into a DataFrame and an auditor fetches and verifies the
disclosure log. The other tests are the ways it should fail.
"""

import hashlib
import os
import subprocess
import unittest
from pathlib import Path

import pandas as pd

import trelink_client as tc
from trelink_client import pb

RUN = Path(os.environ["TRELINK_RUN_DIR"])
ROOT = Path(os.environ["TRELINK_ROOT"])
BIN = Path(os.environ["TRELINK_BIN"])
PSEUDONYMISER = os.environ["TRELINK_PSEUDONYMISER"]
LINKER = os.environ["TRELINK_LINKER"]
AGGREGATOR = os.environ["TRELINK_AGGREGATOR"]
CERTS = RUN / "certs"
SAMPLE = ROOT / "deploy" / "sample"
QUERIES = ROOT / "deploy" / "queries"
PROVIDERS = {"maternity": "provider.maternity", "social_care": "provider.social-care", "court": "provider.court"}


def tls(identity):
    return tc.TlsFiles.from_directory(CERTS, identity)


def sample(dataset):
    # As a data engineer would load it: every column as text, empty = missing.
    return pd.read_csv(SAMPLE / f"{dataset}.csv", dtype=str, keep_default_na=False)


def pipeline(dataset, catalogue):
    identity = tls(PROVIDERS[dataset])
    return tc.Pipeline(tc.Pseudonymiser(PSEUDONYMISER, identity), tc.Linker(LINKER, identity), catalogue)


def catalogue():
    with tc.Aggregator(AGGREGATOR, tls("analyst")) as analyst:
        return analyst.describe_catalogue().catalogue


class PipelineTest(unittest.TestCase):
    def test_pipeline(self):
        # 1. Every service is up, and the analyst reads the catalogue that drives the columns.
        for service, address in ((tc.Pseudonymiser, PSEUDONYMISER), (tc.Linker, LINKER), (tc.Aggregator, AGGREGATOR)):
            with service(address, tls("linkage-admin")) as s:
                self.assertEqual(s.health(), "SERVING")
        with tc.Aggregator(AGGREGATOR, tls("analyst")) as analyst:
            description = analyst.describe_catalogue()
        self.assertEqual([d.name for d in description.catalogue.datasets], ["maternity", "social_care", "court"])
        self.assertEqual(description.policy.threshold, 10)
        cat = description.catalogue

        # 2. Providers send the sample files as DataFrames, then the synthetic population as CSV files.
        for dataset in PROVIDERS:
            frame = sample(dataset)
            with pipeline(dataset, cat) as p:
                result = p.ingest(frame, project="demo", dataset=dataset)
                self.assertEqual((result.records, result.batches, result.batches_stored), (len(frame), 1, 1), dataset)
                self.assertEqual(result.rejected, [])
                again = p.ingest(frame, project="demo", dataset=dataset)
                self.assertEqual((again.batches_stored, again.batches_already_stored), (0, 1), dataset)
                population = RUN / "population" / f"{dataset}.csv"
                bulk = p.ingest(population, project="demo", dataset=dataset, allow_rejected=True)
                digest = hashlib.sha256(population.read_bytes()).hexdigest()[:16]
                self.assertEqual(bulk.extract, f"sha256-{digest}")  # the CLI's batch ids
                self.assertGreater(bulk.records, 100)
                self.assertEqual(bulk.records + len(bulk.rejected), bulk.rows_read)
        with tc.Pseudonymiser(PSEUDONYMISER, tls("provider.maternity")) as p:
            self.assertTrue(any(v.primary for v in p.key_info("demo").versions))
        # The mother's age band left the provider, her date of birth did not.
        mothers = pipeline("maternity", cat).prepare(sample("maternity"), project="demo", dataset="maternity")
        self.assertEqual(mothers.batches[0].content[0].attributes["mother_age_band"], "age_20_29")
        self.assertEqual(mothers.batches[0].identifiers.batch_id, "maternity:sha256-"
                         + hashlib.sha256((SAMPLE / "maternity.csv").read_bytes()).hexdigest()[:16] + ":000000000")

        # 3. The TRE links; the report is kept by the linker.
        with tc.Linker(LINKER, tls("linkage-admin")) as admin:
            first = admin.run_linkage("demo")
            self.assertEqual(admin.linkage_report("demo").generation, first.generation)
        self.assertFalse(first.records.suppressed)
        self.assertGreater(first.persons.value, 1000)

        # 4. The maternity provider withdraws a record; it leaves the next generation.
        with pipeline("maternity", cat) as p:
            withdrawn = p.withdraw(["M0005"], project="demo", dataset="maternity")
            self.assertEqual((withdrawn.withdrawn, withdrawn.not_found), (1, 0))
            self.assertEqual(p.withdraw(["M0005"], project="demo", dataset="maternity").already_withdrawn, 1)
        with tc.Linker(LINKER, tls("linkage-admin")) as admin:
            second = admin.run_linkage("demo")
        self.assertEqual(second.records.value, first.records.value - 1)

        # 5. The TRE applies a national data opt-out list of one number.
        with tc.Pseudonymiser(PSEUDONYMISER, tls("linkage-admin")) as p, tc.Linker(LINKER, tls("linkage-admin")) as l:
            opt_out = tc.Pipeline(p, l, cat).apply_opt_out(["943 476 5919", "not a number"], project="demo",
                                                           list_version="2026-11")
            self.assertEqual((opt_out.numbers_in_list, opt_out.invalid, opt_out.active_list), (1, 1, "2026-11"))
            third = l.run_linkage("demo")
        self.assertEqual(third.opt_out.list_version, "2026-11")

        # 6. An analyst counts every question of deploy/queries into DataFrames.
        with tc.Auditor(AGGREGATOR, tls("auditor")) as auditor:
            before = auditor.checkpoint()
        with tc.Aggregator(AGGREGATOR, tls("analyst")) as analyst:
            analyst.wait_for_generation("demo", third.generation)
            tables = {path.stem: analyst.count(path).to_dataframe() for path in sorted(QUERIES.glob("*.textproto"))}
        suppressed = 0
        for name, df in tables.items():
            self.assertEqual(df.attrs["generation"], third.generation, name)
            self.assertEqual(df.attrs["policy_version"], description.policy.version, name)
            self.assertEqual(df.attrs["opt_out_list"], "2026-11", name)
            hidden = df[df["suppressed"]]
            self.assertTrue(hidden["count"].isna().all(), name)
            self.assertTrue((hidden["status"] == "SUPPRESSED").all(), name)
            shown = df[~df["suppressed"]]["count"].astype(int)
            self.assertTrue(((shown % 5 == 0) & ((shown == 0) | (shown >= 10))).all(), name)
            suppressed += len(hidden)
        q6 = tables["q6_parental_learning_disability"]
        self.assertEqual(list(q6.columns), ["parent_learning_disability", "count", "status", "suppressed", "is_total"])
        self.assertEqual(q6[q6["is_total"]]["parent_learning_disability"].tolist(), ["*"])
        self.assertGreater(suppressed, 0)  # small cells of a 1,500-mother population
        log_indexes = sorted(df.attrs["log_index"] for df in tables.values())
        self.assertEqual(len(set(log_indexes)), len(tables))

        # 7. An auditor fetches the log and verifies it offline against the pinned key.
        with tc.Auditor(AGGREGATOR, tls("auditor")) as auditor:
            log = auditor.fetch()
            last = log_indexes[-1]
            proof = auditor.inclusion_proof(last, len(log.entries))
            consistency = auditor.consistency_proof(before.size, len(log.entries))
        verifier = tc.NoteVerifier.load(RUN / "keys" / "log.pub")
        verification = tc.verify_log(log.entries, log.checkpoint_note, verifier, earlier_checkpoint=before.signed_note)
        self.assertTrue(verification.ok, str(verification))
        self.assertEqual(verification.released_tables, len(tables))
        self.assertGreater(verification.cells_checked, 0)
        root = verifier.verify(log.checkpoint_note).root
        self.assertEqual(verification.root_hex, root.hex())
        leaf = tc.audit.leaf_hash(log.entries[last])
        self.assertTrue(tc.verify_inclusion(last, len(log.entries), leaf, proof, root))
        self.assertFalse(tc.verify_inclusion(last, len(log.entries), tc.audit.leaf_hash(b"forged"), proof, root))
        self.assertTrue(tc.verify_consistency(before.size, len(log.entries), before.root_hash, root, consistency))
        entry = pb.LogEntry.FromString(log.entries[last])
        self.assertEqual((entry.index, entry.caller), (last, "analyst"))
        # The C++ auditor accepts the files the client saves.
        log.save(RUN / "fetched")
        subprocess.run([BIN / "trelink-audit", "verify", "--log", RUN / "fetched" / "disclosure.log", "--checkpoint",
                        RUN / "fetched" / "checkpoint", "--pubkey", RUN / "keys" / "log.pub"], check=True,
                       stdout=subprocess.DEVNULL)
        # A changed entry is caught.
        tampered = list(log.entries)
        tampered[0] = tampered[0][:-1] + bytes([tampered[0][-1] ^ 1])
        broken = tc.verify_log(tampered, log.checkpoint_note, verifier)
        self.assertFalse(broken.ok)
        self.assertIn("checkpoint", [p.check for p in broken.problems])


class RefusalTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.catalogue = catalogue()

    def test_missing_age_band_source_column_names_it(self):
        frame = sample("maternity").drop(columns=["mother_dob"])
        with pipeline("maternity", self.catalogue) as p, self.assertRaises(tc.InvalidRecord) as error:
            p.ingest(frame, project="demo", dataset="maternity")
        self.assertEqual(error.exception.column, "mother_dob")
        self.assertIn("mother_age_band", str(error.exception))

    def test_missing_required_value_names_column_and_row(self):
        frame = sample("maternity")
        frame.loc[2, "region"] = ""
        frame.loc[3, "mother_dob"] = "2099-01-01"
        with pipeline("maternity", self.catalogue) as p:
            with self.assertRaises(tc.RowsRejected) as error:
                p.ingest(frame, project="demo", dataset="maternity", extract="negative-test")
            rejected = error.exception.rejected
            self.assertEqual([(r.row, r.column) for r in rejected], [("row 2", "region"), ("row 3", "mother_dob")])
            self.assertEqual(rejected[0].reason, "attributes.region: required")
            self.assertEqual(rejected[1].reason, "mother date_of_birth: date is in the future")
            self.assertIn("row 2: attributes.region: required", str(error.exception))
            self.assertNotIn("2099", str(error.exception))  # reasons, never values
            frame = frame.drop(columns=["region"])
            with self.assertRaises(tc.InvalidRecord) as missing:
                p.ingest(frame, project="demo", dataset="maternity")
            self.assertEqual(missing.exception.column, "region")

    def test_unknown_column_is_named(self):
        frame = sample("court").assign(shoe_size="42")
        with pipeline("court", self.catalogue) as p, self.assertRaises(tc.InvalidRecord) as error:
            p.prepare(frame, project="demo", dataset="court")
        self.assertIn('"shoe_size" is not a column of dataset court', str(error.exception))

    def test_bad_query_is_invalid_argument_naming_the_field(self):
        query = tc.load_query(QUERIES / "q6_parental_learning_disability.textproto")
        query.group_by[0].attribute = "shoe_size"
        with tc.Aggregator(AGGREGATOR, tls("analyst")) as analyst, self.assertRaises(tc.InvalidArgument) as error:
            analyst.count(query)
        self.assertEqual(error.exception.code.name, "INVALID_ARGUMENT")
        self.assertIn("group_by[0].attribute", str(error.exception))
        # The field, machine-readable, from the google.rpc.BadRequest details.
        self.assertEqual([v.field for v in error.exception.field_violations], ["group_by[0].attribute"])
        self.assertIn("shoe_size", error.exception.field_violations[0].description)  # says which name is unknown

    def test_wrong_role_is_permission_denied(self):
        with tc.Aggregator(AGGREGATOR, tls("provider.maternity")) as provider, \
                self.assertRaises(tc.PermissionDenied):
            provider.count(QUERIES / "q6_parental_learning_disability.textproto")

    def test_untrusted_certificate_is_a_plain_error(self):
        rogue = tc.TlsFiles(CERTS / "ca.pem", CERTS / "rogue.pem", CERTS / "rogue.key")
        with tc.Aggregator(AGGREGATOR, rogue) as aggregator, self.assertRaises(tc.ConnectionFailed) as error:
            aggregator.describe_catalogue()
        self.assertIn(f"the TLS handshake with the aggregator at {AGGREGATOR} failed", str(error.exception))

    def test_key_of_another_certificate_is_named_before_connecting(self):
        mixed = tc.TlsFiles(CERTS / "ca.pem", CERTS / "analyst.pem", CERTS / "auditor.key")
        with self.assertRaises(tc.ConnectionFailed) as error:
            tc.Aggregator(AGGREGATOR, mixed)
        self.assertIn("does not belong to the certificate", str(error.exception))

    def test_wrong_service_and_closed_port_are_plain_errors(self):
        with tc.Linker(AGGREGATOR, tls("linkage-admin")) as wrong, self.assertRaises(tc.Unimplemented) as error:
            wrong.linkage_report("demo")
        self.assertIn("is this the address of the linker?", str(error.exception))
        with tc.Linker("127.0.0.1:1", tls("linkage-admin"), timeout=5) as closed, \
                self.assertRaises(tc.ConnectionFailed) as refused:
            closed.linkage_report("demo")
        self.assertIn("nothing is listening there", str(refused.exception))


if __name__ == "__main__":
    unittest.main()
