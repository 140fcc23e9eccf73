"""Usage and cost: totals of the estimated cost the routing table recorded, and their page."""
