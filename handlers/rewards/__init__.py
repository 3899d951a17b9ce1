"""Points rewards: the catalogue, redeeming, new rewards and their handover."""
