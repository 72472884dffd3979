from orderly.fulfilment.carriers.dhl_express.connector import DhlExpressConnector

__all__ = ["CONNECTOR", "DhlExpressConnector"]

CONNECTOR = DhlExpressConnector
