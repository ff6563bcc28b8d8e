//! The interactive dashboard: the terminal, the one event channel and the main loop. The
//! terminal is restored on every way out: `q`, Ctrl-C (a key in raw mode), SIGTERM or SIGHUP,
//! an error, and a panic (ratatui's hook restores it before the message is printed).

use std::io::IsTerminal as _;

use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use futures_util::StreamExt as _;
use tokio::{sync::mpsc, task::JoinHandle};

use crate::app::Effect;
use crate::event::{Event, Sender, Source, Update};
use crate::model::SourceState;
use crate::{Options, source, ui};

/// Why the dashboard could not run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Standard input or output is not a terminal.
    #[error(
        "standard output is not a terminal; run `shopctl dash --once` (add `--output json` for scripts) for a snapshot instead"
    )]
    NotATerminal,
    /// The terminal could not be set up or drawn on.
    #[error("terminal: {0}")]
    Terminal(#[from] std::io::Error),
}

/// Runs the dashboard until the operator quits.
pub async fn run(options: Options) -> Result<(), Error> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(Error::NotATerminal);
    }
    let mut terminal = ratatui::try_init()?;
    let result = main_loop(&mut terminal, &options).await;
    ratatui::restore();
    result
}

async fn main_loop(
    terminal: &mut ratatui::DefaultTerminal,
    options: &Options,
) -> Result<(), Error> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
    let mut tasks = source::spawn(options, &tx);
    tasks.push(tokio::spawn(keys(tx.clone())));
    tasks.push(tokio::spawn(ticks(tx.clone())));
    tasks.push(tokio::spawn(signals(tx.clone())));
    let mut app = options.app();
    let mut follower: Option<JoinHandle<()>> = None;
    terminal.draw(|frame| ui::render(&app, frame))?;
    while let Some(event) = rx.recv().await {
        let mut dirty = app.update(event);
        // Whatever else is already waiting is taken before drawing: one frame for a burst.
        while let Ok(event) = rx.try_recv() {
            dirty |= app.update(event);
        }
        for effect in std::mem::take(&mut app.effects) {
            perform(effect, options, &tx, &mut follower);
        }
        if app.quit {
            break;
        }
        if dirty {
            terminal.draw(|frame| ui::render(&app, frame))?;
        }
    }
    for task in tasks.into_iter().chain(follower) {
        task.abort();
    }
    Ok(())
}

/// Keys and resizes from the terminal.
async fn keys(tx: Sender) {
    let mut stream = EventStream::new();
    while let Some(event) = stream.next().await {
        let event = match event {
            Ok(TermEvent::Key(key)) if key.kind != KeyEventKind::Release => Event::Key(key),
            Ok(TermEvent::Resize(..)) => Event::Resize,
            Ok(_) => continue,
            Err(_) => break,
        };
        if tx.send(event).is_err() {
            return;
        }
    }
    let _ = tx.send(Event::Quit);
}

/// A tick a second, so that ages move on.
async fn ticks(tx: Sender) {
    let mut ticker = tokio::time::interval(std::time::Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        ticker.tick().await;
        if tx.send(Event::Tick).is_err() {
            return;
        }
    }
}

/// SIGTERM and SIGHUP end the dashboard as `q` does (Ctrl-C is a key in raw mode).
async fn signals(tx: Sender) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = hup.recv() => {}
        }
        let _ = tx.send(Event::Quit);
    }
    #[cfg(not(unix))]
    {
        let _ = tx;
        std::future::pending::<()>().await;
    }
}

/// Carries out what the state asked for; results come back as updates.
fn perform(effect: Effect, options: &Options, tx: &Sender, follower: &mut Option<JoinHandle<()>>) {
    let platform = options.platform.clone();
    let tx = tx.clone();
    let send = move |update: Update| {
        let _ = tx.send(Event::from(update));
    };
    match effect {
        Effect::FollowLogs(service) => {
            if let Some(previous) = follower.take() {
                previous.abort();
            }
            *follower = Some(tokio::spawn(async move {
                send(Update::Source(Source::Logs, SourceState::Ok));
                let out = send.clone();
                let each = Box::new(move |lines| {
                    out(Update::Logs(lines));
                    true
                });
                if let Err(e) = platform.follow_logs(&service, each).await {
                    send(Update::Source(Source::Logs, SourceState::Failing(e)));
                }
            }));
        }
        Effect::Trace(trace_id) => {
            tokio::spawn(async move {
                let lines = platform.trace(&trace_id).await;
                send(Update::Trace { trace_id, lines });
            });
        }
        Effect::Runbook(id) => {
            tokio::spawn(async move {
                let runbook = platform.runbook(&id).await;
                send(Update::Runbook { id, runbook });
            });
        }
        Effect::Restart(service) => {
            tokio::spawn(async move {
                send(Update::Done(platform.restart(&service).await));
            });
        }
        Effect::Fault(service, fault) => {
            tokio::spawn(async move {
                send(Update::Done(platform.fault(&service, fault).await));
            });
        }
        Effect::Copy(text) => {
            // OSC 52: the terminal (and tmux with set-clipboard) puts it on the clipboard.
            let copied = crossterm::execute!(
                std::io::stdout(),
                crossterm::clipboard::CopyToClipboard::to_clipboard_from(text)
            );
            if let Err(e) = copied {
                send(Update::Done(Err(format!("cannot copy: {e}"))));
            }
        }
        Effect::Record(action, target) => {
            tokio::spawn(async move {
                platform.record(action, &target).await;
            });
        }
    }
}
