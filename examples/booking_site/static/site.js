// Every page: a form with data-confirm asks before it is sent (no inline script: the
// Content-Security-Policy allows scripts from /static only).
document.addEventListener("submit", function (event) {
  const question = event.target.dataset && event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});
