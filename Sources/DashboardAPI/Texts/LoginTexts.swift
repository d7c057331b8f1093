/// The sign-in pages' texts, one catalogue per language like ``DashboardTexts``.
struct LoginTexts: Sendable {
    var signIn: String
    var intro: String
    var tokenLabel: String
    var wrongToken: String
    var wrongTokenInLink: String
    var tryLater: String
    var refusedTitle: String
    var signInWithToken: String
    var alreadyUsed: String
    var expired: String
    var unknown: String
    var signOut: String
    var signOutButton: String
    /// The link to the other language, in that language.
    var switchLabel: String

    static func of(_ language: PageLanguage) -> LoginTexts { language == .en ? .english : .vietnamese }

    static let vietnamese = LoginTexts(
        signIn: "Đăng nhập",
        intro: "Mở liên kết đăng nhập được gửi cho bạn, hoặc dán mã truy cập (bắt đầu bằng <code>co_</code>).",
        tokenLabel: "Mã truy cập",
        wrongToken: "Mã truy cập không đúng, đã bị thu hồi hoặc đã hết hạn.",
        wrongTokenInLink: "Mã truy cập trong liên kết không đúng, đã bị thu hồi hoặc đã hết hạn.",
        tryLater: "Đăng nhập sai quá nhiều lần từ địa chỉ này: hãy thử lại sau ít phút.",
        refusedTitle: "Không đăng nhập được",
        signInWithToken: "Đăng nhập bằng mã truy cập",
        alreadyUsed: "Liên kết đăng nhập này đã được dùng. Mỗi liên kết chỉ dùng được một lần: xin cán bộ quản trị một liên kết mới, hoặc đăng nhập bằng mã truy cập.",
        expired: "Liên kết đăng nhập này đã hết hạn (mỗi liên kết có hiệu lực 15 phút): xin cán bộ quản trị một liên kết mới.",
        unknown: "Liên kết đăng nhập không hợp lệ: hãy kiểm tra lại địa chỉ, hoặc xin cán bộ quản trị một liên kết mới.",
        signOut: "Đăng xuất",
        signOutButton: "Đăng xuất khỏi CreditOps",
        switchLabel: "English"
    )

    static let english = LoginTexts(
        signIn: "Sign in",
        intro: "Open the sign-in link you were sent, or paste your access token (it starts with <code>co_</code>).",
        tokenLabel: "Access token",
        wrongToken: "The access token is wrong, revoked or expired.",
        wrongTokenInLink: "The access token in the link is wrong, revoked or expired.",
        tryLater: "Too many failed sign-ins from this address: try again in a few minutes.",
        refusedTitle: "Could not sign in",
        signInWithToken: "Sign in with an access token",
        alreadyUsed: "This sign-in link has been used already. Each link works once: ask an administrator for a new one, or sign in with an access token.",
        expired: "This sign-in link has expired (links last 15 minutes): ask an administrator for a new one.",
        unknown: "This sign-in link is not valid: check the address, or ask an administrator for a new one.",
        signOut: "Sign out",
        signOutButton: "Sign out of CreditOps",
        switchLabel: "Tiếng Việt"
    )
}
