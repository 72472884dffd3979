from orderly.fulfilment.carriers.manual.connector import ManualConnector

CONNECTOR = ManualConnector
