import Spec

/// The Machinefile's source positions, not Swift Testing's type of the same name.
typealias SourceLocation = Spec.SourceLocation
