package dashboard

// catalogJACompute is the Japanese of the resize form, the launch wizard's
// further options and the instance statuses, merged into catalogJA.
var catalogJACompute = map[string]string{
	"Any Availability Zone":            "任意のアベイラビリティーゾーン",
	"Create New Volume":                "新しいボリュームを作成",
	"Volume Size (GiB)":                "ボリュームサイズ (GiB)",
	"Delete Volume on Instance Delete": "インスタンス削除時にボリュームを削除",
	"The volume size must be a whole number of GiB, at least 1.": "ボリュームサイズは 1 以上の整数 (GiB) で指定してください。",
	"Select Boot Source":                            "ブートソースを選択",
	"Volume":                                        "ボリューム",
	"No bootable volume is available.":              "起動可能なボリュームがありません。",
	"Choose a volume to boot from.":                 "起動するボリュームを選んでください。",
	"The boot source must be an image or a volume.": "ブートソースはイメージかボリュームで指定してください。",
	"Resize Instance":                               "インスタンスのサイズ変更",
	"Confirm Resize/Migrate":                        "サイズ変更/マイグレーションの確定",
	"Revert Resize/Migrate":                         "サイズ変更/マイグレーションの取り消し",
	"resize":                                        "サイズ変更",
	"confirm resize":                                "サイズ変更の確定",
	"revert resize":                                 "サイズ変更の取り消し",
	"Old Flavor":                                    "現在のフレーバー",
	"No other flavor.":                              "ほかのフレーバーはありません。",
	"Advanced Options":                              "高度なオプション",
	"Disk Partition":                                "ディスクパーティション",
	"Automatic":                                     "自動",
	"Manual":                                        "手動",
	"Resize":                                        "サイズを変更",
	"Choose the new flavor.":                        "新しいフレーバーを選んでください。",
	"The disk partition must be AUTO or MANUAL.": "ディスクパーティションは AUTO か MANUAL で指定してください。",
}

// catalogJAStatus is the Japanese of the statuses the APIs return, as
// Horizon's Japanese catalogue shows them: Nova's server statuses and task
// states, Glance's and Neutron's statuses. English shows the API's word.
var catalogJAStatus = map[string]string{
	"ACTIVE": "稼働中", "BUILD": "構築中", "SHUTOFF": "シャットオフ", "ERROR": "エラー", "PAUSED": "一時停止中",
	"SUSPENDED": "休止状態", "SHELVED": "退避中", "SHELVED_OFFLOADED": "退避済み", "REBOOT": "再起動中",
	"HARD_REBOOT": "ハードリブート中", "RESIZE": "サイズ変更中", "VERIFY_RESIZE": "サイズ変更の確認待ち",
	"REVERT_RESIZE": "サイズ変更の取り消し中", "RESCUE": "レスキュー", "MIGRATING": "マイグレーション中",
	"REBUILD": "再構築中", "PASSWORD": "パスワード設定中", "DELETED": "削除済み", "SOFT_DELETED": "ソフト削除済み",
	"UNKNOWN": "不明", "DOWN": "停止", "queued": "キュー待ち", "saving": "保存中", "uploading": "アップロード中",
	"importing": "インポート中", "active": "稼働中", "deactivated": "無効化", "killed": "強制終了",
	"deleted": "削除済み", "pending_delete": "削除待ち", "scheduling": "スケジューリング中",
	"block_device_mapping": "ブロックデバイスのマッピング中", "networking": "ネットワーク設定中", "spawning": "起動中",
	"image_snapshot": "スナップショット作成中", "image_snapshot_pending": "スナップショット作成待ち",
	"image_pending_upload": "イメージのアップロード待ち", "image_uploading": "イメージのアップロード中",
	"rebooting": "再起動中", "reboot_pending": "再起動待ち", "reboot_started": "再起動開始",
	"rebooting_hard": "ハードリブート中", "pausing": "一時停止中", "unpausing": "再開中", "suspending": "休止中",
	"resuming": "再開中", "powering-off": "電源オフ中", "powering-on": "電源オン中", "rescuing": "レスキュー中",
	"unrescuing": "レスキュー解除中", "rebuilding": "再構築中", "resize_prep": "サイズ変更の準備中",
	"resize_migrating": "サイズ変更のマイグレーション中", "resize_migrated": "サイズ変更のマイグレーション完了",
	"resize_finish": "サイズ変更の完了処理中", "resize_reverting": "サイズ変更の取り消し中",
	"resize_confirming": "サイズ変更の確定中", "shelving": "退避中", "shelving_offloading": "退避済みへ移行中",
	"unshelving": "退避からの復帰中", "deleting": "削除中", "migrating": "マイグレーション中",
}

func init() {
	for _, m := range []map[string]string{catalogJACompute, catalogJAStatus} {
		for k, v := range m {
			catalogJA[k] = v
		}
	}
}
