/// An error of the job queue, for callers to match on and people to read.
///
/// Its `description` names what is wrong (the kind, the field, the job) and never contains SQL or
/// job arguments.
public struct QueueError: Error, Sendable, CustomStringConvertible {
    /// The kinds of queue errors.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        fileprivate enum Base: String, Sendable, Hashable {
            case notFound, unknownKind, decodeFailed, encodeFailed, invalidState, invalidArgument, timedOut, leaseLost
        }

        fileprivate let base: Base
        /// No job with that id.
        public static let notFound = Code(base: .notFound)
        /// No handler is registered for the job's kind.
        public static let unknownKind = Code(base: .unknownKind)
        /// The job's arguments do not decode into its kind's argument type.
        public static let decodeFailed = Code(base: .decodeFailed)
        /// The arguments could not be encoded as JSON.
        public static let encodeFailed = Code(base: .encodeFailed)
        /// The job is in a state that does not allow the operation.
        public static let invalidState = Code(base: .invalidState)
        /// A value given to the queue is out of range or malformed.
        public static let invalidArgument = Code(base: .invalidArgument)
        /// The handler ran longer than its kind's time-out.
        public static let timedOut = Code(base: .timedOut)
        /// The worker could not renew the job's lease in time and stopped its handler.
        public static let leaseLost = Code(base: .leaseLost)

        public var description: String { base.rawValue }
    }

    /// What kind of error this is.
    public let code: Code
    /// The job concerned, if any.
    public let jobID: Int64?
    /// One line for people.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, jobID: Int64? = nil, _ message: String) {
        self.code = code
        self.jobID = jobID
        self.message = message
    }

    public var description: String { message }
}
