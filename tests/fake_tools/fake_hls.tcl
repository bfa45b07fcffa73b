# fake_hls.tcl - the tcl side of fake_hls.sh: stub HLS commands, source the project script, check
# what it did, and write the fixture report where the real tool would.
# argv: tool script top_fixture(empty: write none) modules_dir(may be empty)
array set F {}
lassign $argv F(tool) F(script) F(fixture) F(modules)
proc fail {msg} { puts "ERROR: fake $::F(tool): $msg"; exit 1 }

proc check_text {} {
    set fh [open $::F(script) r]
    set text [read $fh]
    close $fh
    if {![info complete $text]} { fail "$::F(script) is not complete tcl (unbalanced braces or quotes)" }
    set required {open_project set_top add_files open_solution set_part create_clock csynth_design}
    foreach c $required {
        set re [string map [list CMD $c] {(^|[\n;{\[])[ \t]*CMD([ \t\n;}\]]|$)}]
        if {![regexp $re $text]} { fail "$::F(script) never uses $c" }
    }
}
check_text

array set F {project "" solution "" top "" part "" period "" files {} tbfiles {} done {}}
proc note {c} { lappend ::F(done) $c; puts "INFO: \[HLS 200-1510\] Running: $c" }
proc open_project {args} {
    set a [lsearch -all -inline -not -regexp $args {^-}]
    if {[llength $a] != 1} { fail "open_project wants one project name, got: $args" }
    set ::F(project) [lindex $a 0]; note "open_project $args"
}
proc set_top {name} { set ::F(top) $name; note "set_top $name" }
proc add_files {args} {
    if {$::F(project) eq ""} { fail "add_files before open_project" }
    set tb 0; set i 0; set n [llength $args]
    while {$i < $n} {
        set a [lindex $args $i]
        switch -- $a {
            -tb { set tb 1 }
            -cflags - -csimflags { incr i }
            default {
                if {![file exists $a]} { fail "add_files: no file $a in [pwd]" }
                if {$tb} { lappend ::F(tbfiles) $a } else { lappend ::F(files) $a }
            }
        }
        incr i
    }
    note "add_files $args"
}
proc open_solution {args} {
    if {$::F(project) eq ""} { fail "open_solution before open_project" }
    set name ""; set i 0
    while {$i < [llength $args]} {
        set a [lindex $args $i]
        if {$a eq "-flow_target"} { incr i } elseif {![string match -* $a]} { set name $a }
        incr i
    }
    if {$name eq ""} { fail "open_solution without a name" }
    set ::F(solution) $name; note "open_solution $args"
}
proc set_part {p} { set ::F(part) [lindex $p 0]; note "set_part $p" }
proc create_clock {args} {
    set i [lsearch -exact $args -period]
    if {$i < 0 || ![string is double -strict [lindex $args [expr {$i + 1}]]]} { fail "create_clock needs -period <ns>" }
    set ::F(period) [lindex $args [expr {$i + 1}]]; note "create_clock $args"
}
proc csim_design {args} { note "csim_design $args"; puts "INFO: \[SIM 211-1\] CSim done with 0 errors." }
proc csynth_design {args} {
    foreach v {project solution top part period} {
        if {$::F($v) eq ""} { fail "csynth_design before [string map {period create_clock project open_project solution open_solution top set_top part set_part} $v]" }
    }
    if {[llength $::F(files)] == 0} { fail "csynth_design with no design files (add_files)" }
    note "csynth_design"
    puts "INFO: \[HLS 200-111\] Finished Command csynth_design CPU user time: 1.2 seconds"
}
proc cosim_design {args} { note "cosim_design $args" }
proc export_design {args} { note "export_design $args" }
proc close_project {args} { note "close_project" }
proc close_solution {args} { note "close_solution" }
proc config_compile {args} {}
proc config_dataflow {args} {}
proc config_interface {args} {}
proc config_export {args} {}
proc set_directive_top {args} {}
rename exit __real_exit
proc exit {{code 0}} { return -code error -errorcode [list FAKE_EXIT $code] "exit $code" }

proc run_script {} {
    set rc [catch {uplevel #0 [list source $::F(script)]} err opts]
    set code 0
    if {$rc} {
        set ec [dict get $opts -errorcode]
        if {[lindex $ec 0] eq "FAKE_EXIT"} { set code [lindex $ec 1] } else {
            puts "ERROR: fake $::F(tool): $::F(script) failed: $err"
            puts [dict get $opts -errorinfo]
            __real_exit 1
        }
    }
    if {$code != 0} { puts "ERROR: fake $::F(tool): $::F(script) exited with status $code"; __real_exit $code }
}

proc write_report {} {
    global F
    if {[lsearch -exact $F(done) csynth_design] < 0 || $F(fixture) eq ""} return
    set rdir [file join $F(project) $F(solution) syn report]
    file mkdir $rdir
    set fh [open $F(fixture) r]; set x [read $fh]; close $fh
    set x [regsub {<TopModelName>[^<]*</TopModelName>} $x "<TopModelName>$F(top)</TopModelName>"]
    set x [regsub {<Part>[^<]*</Part>} $x "<Part>$F(part)</Part>"]
    foreach f [list [file join $rdir $F(top)_csynth.xml] [file join $rdir csynth.xml]] {
        set fh [open $f w]; puts -nonewline $fh $x; close $fh
    }
    if {$F(modules) ne ""} {
        foreach m [glob -nocomplain -directory $F(modules) *_csynth.xml] { file copy -force $m $rdir }
    }
    puts "INFO: \[HLS 200-789\] **** Estimated Fmax: 273.97 MHz"
    puts "INFO: \[HLS 200-112\] Total CPU user time: 2.1 seconds. Total elapsed time: 2.3 seconds"
}

run_script
write_report
puts "INFO: \[HLS 200-112\] Total elapsed time: 2.3 seconds; peak allocated memory: 1.1 GB."
puts "INFO: \[Common 17-206\] Exiting $F(tool) at [clock format [clock seconds]]..."
__real_exit 0
