import Boxes

/// Says what `BoxStore.remove` did.
func report(_ box: InstalledBox, _ removal: BoxStore.Removal) {
  switch removal {
  case .removedWithVolume:
    print("box '\(box.name)' (version \(box.version)) removed, with its storage pool volume")
  case .removedWithoutVolume:
    print("box '\(box.name)' (version \(box.version)) removed (it had no storage pool volume)")
  case .keptVolume(let users):
    print(
      "box '\(box.name)' (version \(box.version)) removed; its pool volume stays while \(users.joined(separator: ", ")) uses it"
    )
  }
}
