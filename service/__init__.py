"""The Boltrics connector: links the Buckles commerce hub to Boltrics 3PL Dynamics."""
