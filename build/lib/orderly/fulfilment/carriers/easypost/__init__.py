from orderly.fulfilment.carriers.easypost.connector import EasyPostConnector

__all__ = ["CONNECTOR", "EasyPostConnector"]

CONNECTOR = EasyPostConnector
