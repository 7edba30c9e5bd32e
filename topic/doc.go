// Package topic holds herald's routes: the route model, the loaders for the
// routing files of Gos WebSocketBundle and OroSyncBundle, the pattern
// compiler, the matcher, the generator and diagnostics.
//
// Topics are exact strings; a route pattern only chooses the handler (the
// route's callback) and the parameters for a channel. Router.Match finds
// the route of a channel, Router.Generate builds a channel from a route
// name and parameters (what a pusher does), Router.Explain says why the
// closest routes did not match.
//
// # Routing files
//
// Load reads gos_web_socket's server.router.resources: files, globs,
// directories, an Oro application root (type "oro": every bundle's
// Resources/config/oro/websocket_routing.yml plus
// config/oro/websocket_routing/*.yml) and 2.x imports. A directory loads
// every *.yml and *.yaml file below it, as Symfony's DirectoryLoader does.
// A resource that yields no routing file is an error (*NoRoutingFileError),
// as are resources that define no route at all (ErrNoRoutes): a server
// would otherwise start with nothing to route. Within a file each route's
// format is detected on its own:
//
//	# A: Oro and PubSubRouter 0.x
//	oro_email.event:
//	    channel: 'oro/email_event/{user_id}/{organization_id}'
//	    handler: { callback: 'oro_email.event' }
//	    requirements:
//	        user_id:         { pattern: '\d+' }
//	        organization_id: { pattern: '\d+', wildcard: true }
//	# B: PubSubRouter 1.x
//	acme_chat:
//	    channel: acme/chat/{room}
//	    handler: acme.topic.chat
//	    requirements: { room: '[a-z]+' }
//	# C: PubSubRouter 2.x, with inline requirement and default
//	acme_rpc:
//	    pattern: 'sample/{method<[a-z_]+>?ping}'
//	    callback: acme.rpc
//
// A format A "wildcard: true" becomes the requirement `P|\*`, as Oro's BC
// loader does (only "*": the 0.x keyword "all" is not carried over); the
// route also records it in Wildcards for Options.Legacy. Definitions are
// validated as PubSubRouter 2.x's YamlFileLoader validates them, and every
// error names the file, the line and the route.
//
// As in PubSubRouter, a route whose name was already declared replaces the
// earlier one (and moves to the end), and an explicit requirement or
// default wins over an inline one. Herald is stricter in one place: a
// non-scalar default is an error. A null default, or "{name?}" inline, sets no default
// (in PubSubRouter it does not make the placeholder optional either).
//
// # Matching (PubSubRouter 2.x)
//
// Placeholders are "{name}" with name of word characters, not starting with
// a digit and at most 32 long, each used once. A placeholder without
// requirement matches [^/]+, minus the next static separator character
// when one follows (separators are /,;.:-_~+*=@|). A requirement loses one
// leading '^' and one trailing '$', its capturing groups become
// non-capturing, and the whole pattern is matched anchored (^…$),
// case-sensitively, with '.' matching newlines. Trailing placeholders that
// have defaults are optional. Routes are tried in load order and the first
// match wins; its parameters are the captures merged over the defaults.
//
// Each route compiles to one regular expression, guarded by its static
// prefix; a route without placeholders is an exact comparison. Match
// allocates only its result.
//
// # Regular expressions: RE2, not PCRE
//
// Requirements are compiled by Go's regexp package (RE2 syntax), not by
// PCRE as in PHP. Most requirements in the wild (\d+, [a-z_]+, a|b, \w+)
// mean the same in both. PCRE-only features are rejected when the routes
// are loaded, with an error naming the route and the requirement:
// lookahead and lookbehind ((?=…), (?!…), (?<=…), (?<!…)), backreferences
// (\1), possessive quantifiers (a++) and atomic groups ((?>…)), \Z, \h, \R,
// \X, recursion and callouts. Matching takes time linear in the channel's
// length, whatever the pattern. Named groups inside a requirement are made
// non-capturing like the others (PubSubRouter would report them as extra
// parameters).
//
// As in PubSubRouter, a pattern or requirement with non-ASCII characters
// (or \p{…}, \x{…}) needs the route option "utf8: true". Go always matches
// UTF-8 by character where PCRE without the u flag matches bytes; this only
// shows with requirements such as ".{3}" on non-ASCII channels.
//
// # Limits
//
// To bound the time and memory one route can cost, NewRouter rejects a
// pattern longer than MaxPatternLength (1024) bytes, with more than
// MaxPlaceholders (64) placeholders, or with a requirement longer than
// MaxRequirementLength (1024) bytes; Go's regexp adds its own limits (for
// example a repeat count above 1000).
//
// # Generation
//
// Router.Generate follows Gos's generator: every placeholder needs a
// parameter or a default (*MissingParametersError names the missing ones);
// each value placed in the channel must match its requirement
// (*InvalidParameterError names the parameter, the value and the
// requirement); trailing values equal to their defaults are left out.
//
// Herald checks a value exactly as the matcher does, so that the route
// matches every channel Generate returns. Gos differs in two ways, both of
// which let its generator build channels its own matcher refuses: it
// checks case-insensitively (#^req$#i: "BAD" passed "[a-z]+"), and it
// writes ^req$, so that for "\d+|\*" it accepts any value that starts
// with a digit; herald anchors the requirement as a whole, (?s)^(?:req)$,
// case-sensitive. Herald then matches the whole channel against the route
// (a requirement such as "\d+\b" can pass alone and fail in place:
// *UnmatchedChannelError). When every placeholder is an omitted optional
// one, herald keeps the leading separator the matcher requires (Gos
// generates "").
//
// # PubSubRouter 0.x (Options.Legacy)
//
// Gos WebSocketBundle 1.x used PubSubRouter 0.3: the channel is split on a
// token separator ("/" by default) and compared to the pattern token by
// token (the counts must be equal); a channel without separator must equal
// the pattern; a requirement is checked with preg_match("#^P#i"), anchored
// at the start only and case-insensitive; a wildcard also accepts "*" and
// "all"; in a route that has requirements, a parameter without one of its
// own only matches a token equal to its own name; a route without
// requirements accepts anything for its parameters but reports none. The
// 0.x generator requires every parameter, lets "*" and "all" pass a
// wildcard and checks the others against the start-anchored requirement;
// herald keeps the value of a parameter without requirement (0.x dropped
// it).
package topic
