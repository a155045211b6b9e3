"""The Python client against a real aggregator over mTLS (started by client_test.sh)."""

import os
import unittest

import grpc

from trelink_client import AggregatorClient, aggregate_pb2, load_query, released

RUN = os.environ["TRELINK_RUN_DIR"]
ADDRESS = os.environ["TRELINK_AGGREGATOR"]
QUERIES = os.environ["TRELINK_QUERIES"]


def client(identity):
    certs = os.path.join(RUN, "certs")
    return AggregatorClient(ADDRESS, ca=os.path.join(certs, "ca.pem"), cert=os.path.join(certs, identity + ".pem"),
                            key=os.path.join(certs, identity + ".key"))


class ClientTest(unittest.TestCase):
    def test_catalogue_and_policy(self):
        with client("analyst") as c:
            description = c.catalogue()
        self.assertEqual([d.name for d in description.catalogue.datasets], ["maternity", "social_care", "court"])
        self.assertEqual(description.policy.threshold, 10)
        self.assertEqual(description.policy.rounding_base, 5)

    def test_every_question_comes_back_under_disclosure_control(self):
        with client("analyst") as c:
            for name in sorted(os.listdir(QUERIES)):
                table = c.count(load_query(os.path.join(QUERIES, name)))
                self.assertGreater(len(table.cells), 0, name)
                for cell in table.cells:
                    if released(cell):
                        self.assertEqual(cell.count % 5, 0, name)
                        self.assertTrue(cell.count == 0 or cell.count >= 10, name)
                    else:
                        self.assertEqual(cell.count, 0, name)

    def test_refusals_carry_the_status_and_field(self):
        query = load_query(os.path.join(QUERIES, "q6_parental_learning_disability.textproto"))
        with client("provider.maternity") as c:
            with self.assertRaises(grpc.RpcError) as denied:
                c.count(query)
        self.assertEqual(denied.exception.code(), grpc.StatusCode.PERMISSION_DENIED)
        query.group_by[0].attribute = "shoe_size"
        with client("analyst") as c:
            with self.assertRaises(grpc.RpcError) as invalid:
                c.count(query)
        self.assertEqual(invalid.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("group_by[0].attribute", invalid.exception.details())


if __name__ == "__main__":
    unittest.main()
