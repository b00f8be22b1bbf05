/* A Web Worker stand-in for pages opened from file://, where browsers refuse to start
 * workers. Material for MkDocs runs its search in a worker; with this shim the same worker
 * script runs in a hidden same-origin iframe instead. Messages are passed as DOM events
 * in both directions; importScripts returns a promise (Material's search worker awaits it).
 * Over http(s) the real Worker is left alone.
 */
(function () {
  "use strict";
  if (location.protocol !== "file:" || typeof EventTarget === "undefined") return;

  function IFrameWorker(url) {
    var target = new EventTarget();
    var self = this;
    var queue = [];
    var ready = false;
    this.onmessage = null;
    this.onerror = null;
    this.addEventListener = target.addEventListener.bind(target);
    this.removeEventListener = target.removeEventListener.bind(target);
    this.dispatchEvent = target.dispatchEvent.bind(target);

    var frame = document.createElement("iframe");
    frame.hidden = true;
    frame.tabIndex = -1;
    frame.title = "search";
    frame.setAttribute("aria-hidden", "true");
    (document.body || document.documentElement).appendChild(frame);
    var win = frame.contentWindow;
    this._frame = frame;

    function emit(data) {
      var event = new MessageEvent("message", { data: data });
      target.dispatchEvent(event);
      if (typeof self.onmessage === "function") self.onmessage(event);
    }

    function script(src) {
      return new Promise(function (resolve, reject) {
        var s = win.document.createElement("script");
        s.src = new URL(src, location.href).href;
        s.onload = function () { resolve(); };
        s.onerror = function () { reject(new Error("could not load " + src)); };
        win.document.head.appendChild(s);
      });
    }

    win.postMessage = function (data) { setTimeout(function () { emit(data); }, 0); };
    win.importScripts = function () {
      var urls = Array.prototype.slice.call(arguments);
      return urls.reduce(function (chain, u) { return chain.then(function () { return script(u); }); }, Promise.resolve());
    };
    this._deliver = function (data) {
      win.dispatchEvent(new win.MessageEvent("message", { data: data }));
    };
    script(url).then(function () {
      ready = true;
      queue.splice(0).forEach(self._deliver);
    }, function (error) {
      var event = new ErrorEvent("error", { message: error.message });
      target.dispatchEvent(event);
      if (typeof self.onerror === "function") self.onerror(event);
    });
    this.postMessage = function (data) {
      if (ready) setTimeout(function () { self._deliver(data); }, 0);
      else queue.push(data);
    };
  }

  IFrameWorker.prototype.terminate = function () { this._frame.remove(); };

  window.IFrameWorker = IFrameWorker;
  window.Worker = IFrameWorker;
})();
