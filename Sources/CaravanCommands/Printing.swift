import Foundation

/// A line on standard error: errors, notes and waits, keeping standard output for what a command prints.
func printError(_ text: String) {
  FileHandle.standardError.write(Data((text + "\n").utf8))
}
