package dashboard

// catalogJACompute is the Japanese of the resize form, the launch wizard's
// further options and the instance statuses, merged into catalogJA.
var catalogJACompute = map[string]string{
	"Resize Instance":        "インスタンスのサイズ変更",
	"Confirm Resize/Migrate": "サイズ変更/マイグレーションの確定",
	"Revert Resize/Migrate":  "サイズ変更/マイグレーションの取り消し",
	"resize":                 "サイズ変更",
	"confirm resize":         "サイズ変更の確定",
	"revert resize":          "サイズ変更の取り消し",
	"Old Flavor":             "現在のフレーバー",
	"No other flavor.":       "ほかのフレーバーはありません。",
	"Advanced Options":       "高度なオプション",
	"Disk Partition":         "ディスクパーティション",
	"Automatic":              "自動",
	"Manual":                 "手動",
	"Resize":                 "サイズを変更",
	"Choose the new flavor.": "新しいフレーバーを選んでください。",
	"The disk partition must be AUTO or MANUAL.": "ディスクパーティションは AUTO か MANUAL で指定してください。",
}

func init() {
	for k, v := range catalogJACompute {
		catalogJA[k] = v
	}
}
