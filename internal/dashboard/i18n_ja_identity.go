package dashboard

// catalogJAIdentity is the Japanese of the identity create, delete and
// membership forms, merged into catalogJA (kept apart so that the main
// catalogue stays under a thousand lines).
var catalogJAIdentity = map[string]string{
	"Create Project":          "プロジェクトの作成",
	"Create User":             "ユーザーの作成",
	"Create Group":            "グループの作成",
	"Confirm Password":        "パスワードの確認",
	"Delete project %s?":      "プロジェクト %s を削除しますか?",
	"Delete user %s?":         "ユーザー %s を削除しますか?",
	"Delete group %s?":        "グループ %s を削除しますか?",
	"Created new project %q.": "新しいプロジェクト %q を作成しました。",
	"Created new user %q.":    "新しいユーザー %q を作成しました。",
	"Created new group %q.":   "新しいグループ %q を作成しました。",
	"Deleted project %q.":     "プロジェクト %q を削除しました。",
	"Deleted user %q.":        "ユーザー %q を削除しました。",
	"Deleted group %q.":       "グループ %q を削除しました。",
	"A group needs a name.":   "グループには名前が必要です。",
	"Passwords do not match.": "パスワードが一致しません。",
	"A role needs a primary project to be given on.":                                     "ロールを割り当てるには主プロジェクトを選んでください。",
	"Unable to add the user to the primary project.":                                     "ユーザーを主プロジェクトに追加できませんでした。",
	"You cannot delete the user you are logged in as or the project you are working in.": "ログイン中のユーザーや作業中のプロジェクトは削除できません。",
	"Manage Members":                     "メンバーの管理",
	"Back to Identity":                   "アイデンティティに戻る",
	"Remove role %s from %s?":            "%[2]s からロール %[1]s を外しますか?",
	"No members.":                        "メンバーはいません。",
	"Add a Role Assignment":              "ロール割り当ての追加",
	"User or Group":                      "ユーザーまたはグループ",
	"Add":                                "追加",
	"Remove %s from the group?":          "%s をグループから外しますか?",
	"Add Users to the Group":             "グループへのユーザーの追加",
	"Choose a user or group and a role.": "ユーザーまたはグループと、ロールを選んでください。",
	"You cannot remove your own role in the project you are working in.": "作業中のプロジェクトから自分自身のロールは外せません。",
	"op must be add or remove":         "op は add か remove で指定してください",
	"Added the role assignment.":       "ロールを割り当てました。",
	"Removed the role assignment.":     "ロールの割り当てを外しました。",
	"Choose a user.":                   "ユーザーを選んでください。",
	"Added the user to the group.":     "ユーザーをグループに追加しました。",
	"Removed the user from the group.": "ユーザーをグループから外しました。",
}

func init() {
	for k, v := range catalogJAIdentity {
		catalogJA[k] = v
	}
}
