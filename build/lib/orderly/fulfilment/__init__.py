"""Fulfilment: shipments from the warehouse to the buyer, carriers, labels and paperwork."""
