//! Portal modules and per-client visibility: which sections a client's sidebar shows and which
//! routes answer; a Login as Client session sees exactly the same.

/// One section of the client portal that staff can show or hide per client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Module {
    Services,
    Invoices,
    Tickets,
    Orders,
    Shop,
    Subscriptions,
    Files,
    Tasks,
}

impl Module {
    /// Every module, in sidebar order.
    pub const ALL: [Module; 8] = [
        Module::Services,
        Module::Invoices,
        Module::Tickets,
        Module::Orders,
        Module::Shop,
        Module::Subscriptions,
        Module::Files,
        Module::Tasks,
    ];

    /// The stored and submitted name.
    pub fn key(self) -> &'static str {
        match self {
            Module::Services => "services",
            Module::Invoices => "invoices",
            Module::Tickets => "tickets",
            Module::Orders => "orders",
            Module::Shop => "shop",
            Module::Subscriptions => "subscriptions",
            Module::Files => "files",
            Module::Tasks => "tasks",
        }
    }

    /// The sidebar label.
    pub fn label(self) -> &'static str {
        match self {
            Module::Services => "Services",
            Module::Invoices => "Invoices",
            Module::Tickets => "Tickets",
            Module::Orders => "Orders",
            Module::Shop => "Shop",
            Module::Subscriptions => "Subscriptions",
            Module::Files => "Files",
            Module::Tasks => "Tasks",
        }
    }

    /// The portal path the sidebar links to.
    pub fn path(self) -> &'static str {
        match self {
            Module::Services => "/services",
            Module::Invoices => "/invoices",
            Module::Tickets => "/tickets",
            Module::Orders => "/orders",
            Module::Shop => "/shop",
            Module::Subscriptions => "/subscriptions",
            Module::Files => "/files",
            Module::Tasks => "/tasks",
        }
    }

    /// Parses a stored or submitted name.
    pub fn parse(s: &str) -> Option<Module> {
        Module::ALL.into_iter().find(|m| m.key() == s)
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// The set of modules a client sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Modules(u16);

impl Default for Modules {
    fn default() -> Self {
        Modules::all()
    }
}

impl Modules {
    /// Every module visible: the default for a new client.
    pub fn all() -> Self {
        Modules(Module::ALL.iter().fold(0, |acc, m| acc | m.bit()))
    }

    /// Builds the set from the stored `hidden_modules` column; unknown names are ignored so an
    /// older binary never locks a client out.
    pub fn from_hidden(hidden: &str) -> Self {
        let mut set = Modules::all();
        for m in hidden.split(',').filter_map(|s| Module::parse(s.trim())) {
            set.0 &= !m.bit();
        }
        set
    }

    /// Builds the set from the modules chosen as visible.
    pub fn from_visible(visible: impl IntoIterator<Item = Module>) -> Self {
        Modules(visible.into_iter().fold(0, |acc, m| acc | m.bit()))
    }

    /// The value stored in `hidden_modules`.
    pub fn hidden_list(self) -> String {
        Module::ALL.iter().filter(|m| !self.shows(**m)).map(|m| m.key()).collect::<Vec<_>>().join(",")
    }

    /// Whether the client sees the module.
    pub fn shows(self, m: Module) -> bool {
        self.0 & m.bit() != 0
    }

    /// The visible modules' names for records, such as `invoices, tickets`, or `none`.
    pub fn describe(self) -> String {
        let shown: Vec<&str> = self.visible().map(|m| m.key()).collect();
        if shown.is_empty() {
            "none".to_string()
        } else {
            shown.join(", ")
        }
    }

    /// The visible modules in sidebar order.
    pub fn visible(self) -> impl Iterator<Item = Module> {
        Module::ALL.into_iter().filter(move |m| self.shows(*m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_shows_everything() {
        assert_eq!(Modules::from_hidden(""), Modules::all());
        assert!(Module::ALL.iter().all(|m| Modules::all().shows(*m)));
        assert_eq!(Modules::all().hidden_list(), "");
    }

    #[test]
    fn hidden_round_trip() {
        let m = Modules::from_hidden("files,shop");
        assert!(!m.shows(Module::Files));
        assert!(!m.shows(Module::Shop));
        assert!(m.shows(Module::Tickets));
        assert_eq!(m.hidden_list(), "shop,files");
        assert_eq!(Modules::from_hidden(&m.hidden_list()), m);
    }

    #[test]
    fn unknown_names_are_ignored() {
        assert_eq!(Modules::from_hidden("bogus, tasks"), Modules::from_hidden("tasks"));
    }

    #[test]
    fn from_visible_keeps_only_those() {
        let m = Modules::from_visible([Module::Tickets, Module::Invoices]);
        assert_eq!(m.visible().collect::<Vec<_>>(), vec![Module::Invoices, Module::Tickets]);
        assert_eq!(Module::parse("tasks"), Some(Module::Tasks));
        assert_eq!(Module::parse("admin"), None);
        assert_eq!(m.describe(), "invoices, tickets");
        assert_eq!(Modules::from_visible([]).describe(), "none");
    }
}
