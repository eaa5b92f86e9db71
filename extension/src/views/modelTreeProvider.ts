import * as vscode from 'vscode';

/**
 * The skeleton of the sidebar's tree views: a provider only maps the model's state to tree
 * items and fires a refresh when the model says it changed (fetching and watching live in
 * the model). Subclasses say what the children are.
 */
export abstract class ModelTreeProvider<Node extends vscode.TreeItem> implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<Node | undefined>();
  private readonly disposables: vscode.Disposable[] = [this.changeEmitter];
  readonly onDidChangeTreeData = this.changeEmitter.event;

  /** `modelChanged`: the model store's change event; every change refreshes the whole view. */
  constructor(modelChanged: vscode.Event<unknown>) {
    this.disposables.push(modelChanged(() => this.changeEmitter.fire(undefined)));
  }

  getTreeItem(item: Node): vscode.TreeItem {
    return item;
  }

  abstract getChildren(item?: Node): Node[];

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
  }
}
