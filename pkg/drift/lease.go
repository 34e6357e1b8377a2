package drift

// LeaderKey is the key of the drift watch's lease (package lease) in the locks bucket.
const LeaderKey = "drift.leader"
