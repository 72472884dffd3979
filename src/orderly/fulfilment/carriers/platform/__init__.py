from orderly.fulfilment.carriers.platform.connector import PlatformConnector

CONNECTOR = PlatformConnector
