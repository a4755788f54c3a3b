import Boxes
import Foundation
import Support

/// Words for download progress: size, rate and time left.
public enum DownloadProgressText {
  public static func duration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "?" }
    let s = Int(seconds.rounded())
    return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s"
  }

  /// `downloading 45% [#########...........] 450.0 MiB of 1.0 GiB, 112.3 MiB/s, 5s left`
  public static func line(_ progress: Download.Progress) -> String {
    let rate = ByteSize.text(progress.bytesPerSecond, style: .progress) + "/s"
    guard let total = progress.total, total > 0 else {
      return "downloading \(ByteSize.text(progress.received, style: .progress)), \(rate)"
    }
    let fraction = min(1, Double(progress.received) / Double(total))
    let filled = Int(fraction * 20)
    let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: 20 - filled)
    let left =
      progress.bytesPerSecond > 0 ? Double(total - min(total, progress.received)) / progress.bytesPerSecond : .infinity
    return
      "downloading \(Int(fraction * 100))% [\(bar)] \(ByteSize.text(progress.received, style: .progress)) of \(ByteSize.text(total, style: .progress)), \(rate), \(duration(left)) left"
  }
}

extension BoxInstaller {
  /// Says the installer's steps and download progress on `reporter`, as `name`.
  public func report(to reporter: Reporter, as name: String) {
    onStep = { reporter.step(name, $0) }
    onProgress = { reporter.progress(name, DownloadProgressText.line($0)) }
  }
}
