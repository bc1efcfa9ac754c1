//! A plugin that claims a future ABI version (999). The host must refuse it
//! after reading the first two fields, without calling anything.

#[repr(C)]
pub struct FutureDecl {
    abi_version: u32,
    struct_size: u32,
    something_new: u64,
}

static DECL: FutureDecl = FutureDecl {
    abi_version: 999,
    struct_size: std::mem::size_of::<FutureDecl>() as u32,
    something_new: 7,
};

/// The ABI v1 entry symbol, returning a declaration of another version.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn rdpbench_plugin_entry() -> *const FutureDecl {
    &DECL
}
